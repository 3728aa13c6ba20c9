// Command co2 is the co2-calculator command-line client (docs/cli.md).
package main

import (
	"context"
	"os"

	"github.com/co2-calculator/co2-calculator/tools/co2/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
