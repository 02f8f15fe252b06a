package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var updateDocs = flag.Bool("update-docs", false, "also write the screenshot to ../docs/serve-page.png")

// browser returns the chromium executable, or skips (fails when
// GOCLIP_REQUIRE_BROWSER=1, as in CI).
func browser(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("GOCLIP_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium on PATH (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH; install Debian's chromium to run the browser test")
	return ""
}

func sh(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr)
	}
	return string(out)
}

type hit struct {
	ID    string  `json:"id"`
	Path  string  `json:"path"`
	Score float32 `json:"score"`
}

// TestSearchPage builds clip, a tiny synthetic model, 30 generated images
// and their index, starts `clip serve`, and drives the page in chromium:
// a text query shows the thumbnails in the order `clip index search`
// gives, every thumbnail loaded; uploading an indexed image shows that
// image first (score 1) and zero-shot labels. The screenshot is kept in
// $GOCLIP_ARTIFACTS (default: the test's temporary folder, logged).
func TestSearchPage(t *testing.T) {
	exe := browser(t)
	work := t.TempDir()
	root, _ := filepath.Abs("..")
	clip := filepath.Join(work, "clip")
	sh(t, root, "go", "build", "-o", clip, "./cmd/clip")
	model, images, ix := filepath.Join(work, "model"), filepath.Join(work, "images"), filepath.Join(work, "index")
	sh(t, root, clip, "synth", "--preset", "tiny", "--seed", "2", "--out", model)
	sh(t, root, "go", "run", "./tools/genimages", "--n", "30", "--size", "96", "--out", images)
	sh(t, root, clip, "index", "build", "--model", model, "--out", ix, images)
	const query = "a red square on a blue background"
	var want []hit
	if err := json.Unmarshal([]byte(sh(t, root, clip, "index", "search", ix, query, "--k", "24", "--json")), &want); err != nil {
		t.Fatal(err)
	}
	upload := filepath.Join(images, "0000", "img000007.png")
	var wantImg []hit
	if err := json.Unmarshal([]byte(sh(t, root, clip, "index", "search", ix, "--image", upload, "--k", "24", "--json")), &wantImg); err != nil {
		t.Fatal(err)
	}

	srv := exec.Command(clip, "serve", "--model", model, "--index", ix, "--addr", "127.0.0.1:0")
	out, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	sc := bufio.NewScanner(out)
	var url string
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			url = u
			break
		}
	}
	if url == "" {
		t.Fatal("clip serve printed no address")
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.Headless, chromedp.WindowSize(1200, 900), chromedp.Flag("disable-gpu", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	var ids []string
	var loaded bool
	err := chromedp.Run(ctx,
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible("#q", chromedp.ByQuery),
		chromedp.SendKeys("#q", query, chromedp.ByQuery),
		chromedp.Click("#search", chromedp.ByQuery),
		chromedp.WaitVisible("#results .hit:nth-child(24)", chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("#results .hit")].map(d => d.dataset.id)`, &ids),
		chromedp.Poll(`[...document.querySelectorAll("#results .hit img")].every(i => i.complete && i.naturalWidth > 0)`, &loaded, chromedp.WithPollingTimeout(20*time.Second)),
	)
	if err != nil {
		t.Fatalf("text search in the page: %v", err)
	}
	if len(ids) != len(want) {
		t.Fatalf("page shows %d results, clip index search %d", len(ids), len(want))
	}
	for i := range want {
		if ids[i] != want[i].ID {
			t.Fatalf("result %d: page %s, clip index search %s", i+1, ids[i], want[i].ID)
		}
	}

	var first, score string
	var labels []string
	var png []byte
	err = chromedp.Run(ctx,
		chromedp.SetUploadFiles("#file", []string{upload}, chromedp.ByQuery),
		chromedp.WaitVisible("#zeroshot li", chromedp.ByQuery),
		chromedp.Poll(fmt.Sprintf(`document.querySelector("#results .hit") && document.querySelector("#results .hit").dataset.id === %q`, upload), nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`document.querySelector("#results .hit").dataset.id`, &first),
		chromedp.Evaluate(`[...document.querySelectorAll("#results .hit")].map(d => d.dataset.id)`, &ids),
		chromedp.Text("#results .hit .score", &score, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("#zeroshot li")].map(l => l.textContent)`, &labels),
		chromedp.Poll(`[...document.querySelectorAll("#results .hit img")].every(i => i.complete && i.naturalWidth > 0)`, &loaded, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.FullScreenshot(&png, 90),
	)
	if err != nil {
		t.Fatalf("image upload in the page: %v", err)
	}
	if first != upload || score != "1.0000" || len(labels) != 5 {
		t.Fatalf("upload: first %s score %s labels %v", first, score, labels)
	}
	for i := range wantImg {
		if i >= len(ids) || ids[i] != wantImg[i].ID {
			t.Fatalf("image result %d: page %v, clip index search --image %s", i+1, ids, wantImg[i].ID)
		}
	}
	dir := os.Getenv("GOCLIP_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	os.MkdirAll(dir, 0o755)
	shot := filepath.Join(dir, "serve-page.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
	if *updateDocs {
		os.WriteFile(filepath.Join(root, "docs", "serve-page.png"), png, 0o644)
	}
}
