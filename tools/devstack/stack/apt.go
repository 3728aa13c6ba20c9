package stack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
)

// aptInstall installs Debian packages when that is possible without asking
// (running as root on a machine with apt-get); otherwise it returns an error
// with the exact command to run.
func aptInstall(ctx context.Context, log func(string), packages ...string) error {
	command := "sudo apt-get install -y"
	for _, name := range packages {
		command += " " + name
	}
	if _, err := exec.LookPath("apt-get"); err != nil || os.Geteuid() != 0 {
		return fmt.Errorf("install it first (%s), or point the environment at a running server", command)
	}
	logf(log, "installing %v with apt-get", packages)
	update := exec.CommandContext(ctx, "apt-get", "update")
	update.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := update.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get update: %w\n%s", err, out)
	}
	install := exec.CommandContext(ctx, "apt-get", append([]string{"install", "-y", "--no-install-recommends"}, packages...)...)
	install.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := install.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get install %v: %w\n%s", packages, err, out)
	}
	return nil
}
