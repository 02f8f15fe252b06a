package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestServeSIGTERM runs `clip serve` as a real process (this test binary
// re-executed as the command), puts requests in flight — a 2 s batch
// wait keeps them queued — sends SIGTERM, and checks that every request
// is answered 200 with its embedding, and the process exits 0.
func TestServeSIGTERM(t *testing.T) {
	if os.Getenv("GOCLIP_SERVE_CHILD") == "1" {
		return
	}
	model, _ := tinyModelAndImages(t, 0)
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$")
	cmd.Env = append(os.Environ(), "GOCLIP_SERVE_CHILD=1", "GOCLIP_SERVE_ARGS="+strings.Join([]string{
		"serve", "--model", model, "--addr", "127.0.0.1:0", "--max-batch", "64", "--max-wait", "2s"}, "\x1f"))
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	var url string
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			url = u
			break
		}
	}
	if url == "" {
		t.Fatalf("no address printed; stderr:\n%s", stderr.String())
	}
	go io.Copy(io.Discard, stdout)
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"model":%q,"input":"text %d"}`, model, i)
			resp, err := http.Post(url+"/v1/embeddings", "application/json", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var r struct {
				Data []struct{ Embedding []float32 } `json:"data"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 || len(r.Data) != 1 || len(r.Data[0].Embedding) != 24 {
				errs <- fmt.Errorf("request %d: status %d, %v", i, resp.StatusCode, err)
			}
		}()
	}
	// Wait until all 16 are queued (the metrics say so), then SIGTERM.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(metric(url, "goclip_queue_depth{modality=\"text\"}"), " 16") {
		if time.Now().After(deadline) {
			t.Fatalf("requests never queued; stderr:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr:\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"draining"`) || !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no drain in the log:\n%s", stderr.String())
	}
}

func metric(url, name string) string {
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name) {
			return l
		}
	}
	return ""
}

// TestServeChild is the process TestServeSIGTERM starts: it runs the
// command line from GOCLIP_SERVE_ARGS and exits with main's status.
func TestServeChild(t *testing.T) {
	if os.Getenv("GOCLIP_SERVE_CHILD") != "1" {
		t.Skip("only run as TestServeSIGTERM's child process")
	}
	args := strings.Split(os.Getenv("GOCLIP_SERVE_ARGS"), "\x1f")
	if err := run(context.Background(), args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, errorLine(err))
		os.Exit(1)
	}
	os.Exit(0)
}
