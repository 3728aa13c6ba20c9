// Package deploycheck checks the deployment files against the code,
// without a cluster or a container engine (make test-k8s and make
// docker-up run them): every variable the compose file or the chart sets
// is one its service reads, what a service needs is set, the upstream URLs
// point at the ports the services listen on, Dex's configuration matches
// what the services expect of it, the chart's probes, shutdown, images and
// operator settings hold, each service builds alone with the versions its
// tests use, and the chart's dashboard and alerting rules parse and ask
// only for metrics and labels the services export.
package deploycheck
