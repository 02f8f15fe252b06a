// Command loadtest measures `clip serve` on this machine (loopback only,
// bounded in time):
//
//	go run ./tools/loadtest --url http://127.0.0.1:8080 --model M --image q.jpg \
//	    [--clients 16] [--duration 60s] [--overload 4] [--overload-duration 15s] [--bench IMG_PER_S]
//
// Phase 1: --clients clients each send one image per request, back to
// back, for --duration: throughput, p50/p99 latency, errors, and the
// server's peak RSS (process_resident_memory_bytes from /metrics, sampled
// every second). --bench, the images/s of `clip bench` at the server's
// batch size, adds the ratio.
// Phase 2: overload×clients clients for --overload-duration: how many
// requests were shed (429/503, with Retry-After) and the slowest /healthz
// answer meanwhile (probed every 200 ms).
// Phase 3: recovery: after the overload, --clients sequential requests
// must all succeed.
// The exit status is 1 when phase 1 had an error, phase 2 shed nothing or
// had another error, /healthz failed, or phase 3 failed.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

var firstErr sync.Once

type result struct {
	code int
	lat  time.Duration
}

type config struct {
	url, model, key string
	body            []byte
	client          *http.Client
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080", "server base URL (loopback only)")
	flag.StringVar(&c.model, "model", "", "model name the server serves")
	flag.StringVar(&c.key, "api-key", os.Getenv("GOCLIP_API_KEY"), "bearer token, if the server needs one")
	image := flag.String("image", "", "image file sent in every request")
	clients := flag.Int("clients", 16, "concurrent clients in phase 1")
	duration := flag.Duration("duration", 60*time.Second, "length of phase 1 (at most 10m)")
	overload := flag.Int("overload", 4, "phase 2 runs overload×clients clients (0: skip phases 2 and 3)")
	overDur := flag.Duration("overload-duration", 15*time.Second, "length of phase 2 (at most 5m)")
	bench := flag.Float64("bench", 0, "images/s of `clip bench` at the server's batch size, for the ratio")
	flag.Parse()
	if err := run(&c, *image, *clients, *duration, *overload, *overDur, *bench); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(c *config, image string, clients int, dur time.Duration, overload int, overDur time.Duration, bench float64) error {
	if err := loopbackOnly(c.url); err != nil {
		return err
	}
	if c.model == "" || image == "" || clients <= 0 || dur <= 0 || dur > 10*time.Minute || overDur > 5*time.Minute {
		return fmt.Errorf("want --model, --image, --clients > 0, 0 < --duration ≤ 10m, --overload-duration ≤ 5m")
	}
	img, err := os.ReadFile(image)
	if err != nil {
		return err
	}
	c.body, _ = json.Marshal(map[string]any{"model": c.model, "modality": "image",
		"input": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(img)})
	c.client = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1024}}
	if err := waitReady(c.url, 5*time.Minute); err != nil {
		return err
	}
	fmt.Printf("phase 1: %d clients, one image per request, %s\n", clients, dur)
	stopRSS := make(chan struct{})
	peak := make(chan float64)
	go samplePeakRSS(c, stopRSS, peak)
	sum0, n0 := scrape(c, `goclip_batch_size_sum{modality="image"}`), scrape(c, `goclip_batch_size_count{modality="image"}`)
	res, el := hammer(c, clients, dur)
	close(stopRSS)
	sum1, n1 := scrape(c, `goclip_batch_size_sum{modality="image"}`), scrape(c, `goclip_batch_size_count{modality="image"}`)
	ok, codes := summarize(res)
	rate := float64(ok) / el.Seconds()
	fmt.Printf("  requests %d, images/s %.2f, p50 %s, p99 %s, status %v, mean batch %.1f, server peak RSS %.0f MiB\n",
		len(res), rate, pct(res, 50), pct(res, 99), codes, (sum1-sum0)/max(1, n1-n0), <-peak/(1<<20))
	if bench > 0 {
		fmt.Printf("  throughput / clip bench: %.1f%%\n", 100*rate/bench)
	}
	var failed []string
	if ok != len(res) {
		failed = append(failed, "phase 1 had errors")
	}
	if overload > 0 {
		failed = append(failed, overloadPhase(c, overload*clients, overDur, clients)...)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "; "))
	}
	return nil
}

func overloadPhase(c *config, n int, dur time.Duration, recover int) []string {
	var failed []string
	fmt.Printf("phase 2: %d clients for %s\n", n, dur)
	stop := make(chan struct{})
	worst := make(chan time.Duration)
	go probeHealth(c, stop, worst)
	res, el := hammer(c, n, dur)
	close(stop)
	w := <-worst
	ok, codes := summarize(res)
	shed := codes[429] + codes[503]
	fmt.Printf("  requests %d (%.1f/s), ok %d, shed %d (429: %d, 503: %d), status %v, slowest /healthz %s\n",
		len(res), float64(len(res))/el.Seconds(), ok, shed, codes[429], codes[503], codes, w)
	if shed == 0 {
		failed = append(failed, "overload shed nothing (start the server with a --queue below the overload concurrency)")
	}
	if ok+shed != len(res) {
		failed = append(failed, "overload had errors other than 429/503")
	}
	if w < 0 || w > 2*time.Second {
		failed = append(failed, "/healthz failed or took over 2 s under overload")
	}
	time.Sleep(time.Second)
	good := 0
	for range recover {
		if r := send(c); r.code == 200 {
			good++
		}
	}
	fmt.Printf("phase 3: recovery: %d/%d sequential requests ok\n", good, recover)
	if good != recover {
		failed = append(failed, "no recovery after the overload")
	}
	return failed
}

// hammer runs n clients sending back to back for dur.
func hammer(c *config, n int, dur time.Duration) ([]result, time.Duration) {
	var mu sync.Mutex
	var all []result
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(dur)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []result
			for time.Now().Before(end) {
				r := send(c)
				mine = append(mine, r)
				if r.code == 429 || r.code == 503 {
					time.Sleep(50 * time.Millisecond) // a polite client backs off a little
				}
			}
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, time.Since(start)
}

func send(c *config) result {
	req, _ := http.NewRequest("POST", c.url+"/v1/embeddings", bytes.NewReader(c.body))
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	t0 := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		firstErr.Do(func() { fmt.Fprintln(os.Stderr, "  first transport error:", err) })
		return result{-1, time.Since(t0)}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if (resp.StatusCode == 429 || resp.StatusCode == 503) && resp.Header.Get("Retry-After") == "" {
		return result{-2, time.Since(t0)} // shedding without Retry-After counts as an error
	}
	return result{resp.StatusCode, time.Since(t0)}
}

func summarize(res []result) (int, map[int]int) {
	codes := map[int]int{}
	for _, r := range res {
		codes[r.code]++
	}
	return codes[200], codes
}

// pct is the p-th percentile latency of the successful requests.
func pct(res []result, p int) time.Duration {
	var l []time.Duration
	for _, r := range res {
		if r.code == 200 {
			l = append(l, r.lat)
		}
	}
	if len(l) == 0 {
		return 0
	}
	slices.Sort(l)
	return l[min(len(l)-1, len(l)*p/100)].Round(time.Millisecond)
}

func probeHealth(c *config, stop chan struct{}, worst chan<- time.Duration) {
	var w time.Duration
	cl := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case <-stop:
			worst <- w
			return
		case <-time.After(200 * time.Millisecond):
		}
		t0 := time.Now()
		resp, err := cl.Get(c.url + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			w = -1
			continue
		}
		resp.Body.Close()
		if d := time.Since(t0); w >= 0 && d > w {
			w = d
		}
	}
}

func samplePeakRSS(c *config, stop chan struct{}, peak chan<- float64) {
	var p float64
	for {
		if v := scrape(c, "process_resident_memory_bytes"); v > p {
			p = v
		}
		select {
		case <-stop:
			peak <- p
			return
		case <-time.After(time.Second):
		}
	}
}

func scrape(c *config, name string) float64 {
	resp, err := http.Get(c.url + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// loopbackOnly refuses URLs whose host does not resolve to loopback only.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("--url %q: want http://127.0.0.1:PORT", raw)
	}
	ips, err := net.LookupIP(u.Hostname())
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("--url %q: %v", raw, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("--url %q: %s is not a loopback address (this tool only loads this machine)", raw, ip)
		}
	}
	return nil
}

// waitReady polls /readyz until the server has loaded its model.
func waitReady(base string, limit time.Duration) error {
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s/readyz not ready after %s", base, limit)
}
