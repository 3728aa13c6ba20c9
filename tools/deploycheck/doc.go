// Package deploycheck checks the container files against the code, since
// no container engine runs where the tests do: every variable the compose
// file sets is one its service reads, what a service needs is set, the
// upstream URLs point at the ports the services listen on, and Dex's
// configuration matches what the services expect of it.
package deploycheck
