// Package e2e drives `clip serve`'s search page in a real browser
// (Debian's chromium through github.com/chromedp/chromedp). It is a
// nested module so that the browser driver stays out of goclip's own
// dependencies; run it with
//
//	cd e2e && go test ./...
//
// .ci/run installs chromium and sets GOCLIP_REQUIRE_BROWSER=1, which
// turns a missing browser from a skip into a failure.
package e2e
