// Command docscheck checks the API reference page as a person uses it, in
// headless Chromium: open /docs, press Authorize, paste a bearer token,
// then "Try it out" and "Execute" on GET /api/v1/me, and expect 200 with
// the caller's identity in the answer. It needs a running system (make run)
// and Chromium (or Chrome) on the machine:
//
//	make docscheck                     # against make run, as the dev admin
//	go run ./tools/docscheck -gateway https://co2.example.org -token "$TOKEN"
//
// It exits non-zero, saying which step failed, when the page cannot
// authenticate or the call does not succeed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

func main() {
	gateway := flag.String("gateway", "http://127.0.0.1:8000", "the gateway's base URL")
	token := flag.String("token", os.Getenv("TOKEN"), "an access token (default $TOKEN)")
	path := flag.String("path", "/api/v1/me", "the GET operation to try (no path parameters)")
	timeout := flag.Duration("timeout", 60*time.Second, "how long the whole check may take")
	flag.Parse()
	started := time.Now()
	if err := run(*gateway, strings.TrimSpace(*token), *path, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "docscheck:", err)
		os.Exit(1)
	}
	fmt.Printf("docscheck: /docs authorized and GET %s answered 200 in %s\n", *path, time.Since(started).Round(time.Millisecond))
}

// browser finds Chromium or Chrome.
func browser() (string, error) {
	if path := os.Getenv("CHROME"); path != "" {
		return path, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", errors.New("no Chromium or Chrome found: install one (Debian: apt-get install chromium) or set CHROME")
}

// evaluate runs a script in the page for its effect.
func evaluate(script string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[any](script)(ctx, t)
		return chromedp.Void{}, err
	}
}

func run(gateway, token, path string, timeout time.Duration) error {
	if token == "" {
		return errors.New("no token: pass -token or set TOKEN (under make run: TOKEN=$(make -s token user=admin))")
	}
	chrome, err := browser()
	if err != nil {
		return err
	}
	options := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox, // containers run it as root
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	allocator, cancel := chromedp.NewExecAllocator(context.Background(), options...)
	defer cancel()
	browserCtx, cancel := chromedp.NewContext(allocator)
	defer cancel()
	// The first call starts the browser; it must not carry the timeout.
	if err := chromedp.Do(browserCtx); err != nil {
		return fmt.Errorf("start %s: %w", chrome, err)
	}
	ctx, cancel := context.WithTimeout(browserCtx, timeout)
	defer cancel()

	operation := fmt.Sprintf(`.opblock-get:has(.opblock-summary-path[data-path=%q])`, path)
	css := func(selector string) chromedp.CSS { return chromedp.CSS(selector) }
	steps := []struct {
		name    string
		actions []chromedp.Action[chromedp.Void]
	}{
		{"open /docs", []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(strings.TrimSuffix(gateway, "/") + "/docs/"),
			chromedp.WaitVisible(css(`.scheme-container button.authorize`)),
		}},
		{"press Authorize and give the bearer token", []chromedp.Action[chromedp.Void]{
			chromedp.Click(css(`.scheme-container button.authorize`)),
			chromedp.WaitVisible(css(`#auth-bearer-value`)),
			// Typed as a paste is: React reads the input event.
			evaluate(fmt.Sprintf(`(() => {
				const input = document.querySelector('#auth-bearer-value');
				Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, %q);
				input.dispatchEvent(new Event('input', {bubbles: true}));
			})()`, token)),
			chromedp.Click(css(`.auth-container:has(#auth-bearer-value) button.authorize`)),
			chromedp.WaitVisible(css(`.auth-container button[aria-label="Remove authorization"]`)), // shown once authorized
			chromedp.Click(css(`.modal-ux button.btn-done`)),
			chromedp.WaitNotPresent(css(`.modal-ux`)),
		}},
		{"open GET " + path + " and press Try it out", []chromedp.Action[chromedp.Void]{
			chromedp.Click(css(operation + ` .opblock-summary-path`)),
			chromedp.WaitVisible(css(operation + ` button.try-out__btn`)),
			chromedp.Click(css(operation + ` button.try-out__btn`)),
		}},
		{"press Execute", []chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible(css(operation + ` button.execute`)),
			chromedp.Click(css(operation + ` button.execute`)),
			chromedp.WaitVisible(css(operation + ` .live-responses-table tr.response .response-col_status`)),
		}},
	}
	for _, step := range steps {
		if err := chromedp.Do(ctx, step.actions...); err != nil {
			// What the page showed, to see why.
			shown, _ := chromedp.Run(context.WithoutCancel(browserCtx), chromedp.Evaluate[string](
				`(document.querySelector('.dialog-ux') || document.querySelector('.swagger-ui') || document.body).outerHTML.slice(0, 3000)`))
			return fmt.Errorf("%s: %w\nthe page: %s", step.name, err, shown)
		}
	}
	status, err := chromedp.Run(ctx, chromedp.Text(css(operation+` .live-responses-table tr.response .response-col_status`)))
	if err != nil {
		return fmt.Errorf("read the answer's status: %w", err)
	}
	body, _ := chromedp.Run(ctx, chromedp.Text(css(operation+` .live-responses-table tr.response .response-col_description pre`)))
	if strings.TrimSpace(status) != "200" {
		return fmt.Errorf("GET %s from the page answered %s: %.300s", path, strings.TrimSpace(status), body)
	}
	return nil
}
