// Command coredns is CoreDNS with only the plugins cluster DNS needs on the
// test node (kubernetes, cache, errors, health, ready): the full build
// compiles every cloud provider's SDK and takes several times as long.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() { coremain.Run() }
