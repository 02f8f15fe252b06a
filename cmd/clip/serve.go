package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/cmd/clip/internal/serve"
	"github.com/goclip/goclip/index"
)

// apiKeyEnv is the environment variable read when --api-key is not given.
const apiKeyEnv = "GOCLIP_API_KEY"

const serveHelp = `usage: clip serve [--model M] [--index INDEX] [--addr 127.0.0.1:8080] [--max-batch 32] [--max-wait 10ms] [--queue N] [--api-key KEY] [--allow-host HOST]...

Runs the HTTP service: OpenAI-compatible /v1/embeddings (texts and
images), /v1/classify, /v1/search over --index, and a search page, with
dynamic batching, a bounded queue, limits, bearer auth and Prometheus
metrics. It runs until SIGTERM or SIGINT, then stops taking connections,
finishes the requests in flight (up to --drain) and exits 0. It takes no
positional arguments.`

// runServe runs the HTTP service until SIGTERM or SIGINT, then stops
// taking connections, finishes the requests in flight and returns nil.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newCmdFlags("serve", serveHelp)
	model := fs.String("model", defaultModel, "model folder or Hugging Face Hub id (org/name[@revision])")
	var prec clip.Precision
	precisionVar(fs.FlagSet, &prec)
	ixDir := fs.String("index", "", "index directory from `clip index build` (enables search and the page's results)")
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0: any free port, printed)")
	maxBatch := fs.Int("max-batch", 32, "inputs per model call")
	maxWait := fs.Duration("max-wait", 10*time.Millisecond, "longest a batch waits to fill")
	queue := fs.Int("queue", 0, "inputs waiting per modality before 429 (default 8 × max-batch)")
	maxInputs := fs.Int("max-inputs", 256, "inputs per request")
	maxBody := fs.Int64("max-body", 32<<20, "request body limit in bytes")
	timeout := fs.Duration("timeout", 60*time.Second, "per-request deadline")
	drain := fs.Duration("drain", 30*time.Second, "on SIGTERM, how long to wait for requests in flight")
	apiKey := fs.String("api-key", "", "require Authorization: Bearer KEY on /v1 (default $"+apiKeyEnv+")")
	var allow stringList
	fs.Var(&allow, "allow-host", "host whose http(s) image URLs may be fetched (repeatable; default none)")
	rest, err := fs.parse(args, stdout)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fs.usage("unexpected argument %q", rest[0])
	}
	if *apiKey == "" {
		*apiKey = os.Getenv(apiKeyEnv)
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	m, err := loadModel(ctx, *model, prec, stderr)
	if err != nil {
		return err
	}
	defer m.Close()
	var ix *index.Index
	if *ixDir != "" {
		if ix, err = index.Open(*ixDir); err != nil {
			return err
		}
	}
	srv, err := serve.New(serve.Config{Model: m, ModelName: *model, Index: ix,
		MaxBatch: *maxBatch, MaxWait: *maxWait, QueueSize: *queue, MaxInputs: *maxInputs, MaxBodyBytes: *maxBody,
		Timeout: *timeout, APIKey: *apiKey, AllowHosts: allow, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		srv.Close()
		return err
	}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	return serveUntilSignal(ctx, srv, ln, *drain, log)
}

// serveUntilSignal serves on ln until SIGTERM/SIGINT (or ctx), then
// drains: /readyz turns 503, the listener closes, requests in flight
// complete (up to drain), the batchers stop.
func serveUntilSignal(ctx context.Context, srv *serve.Server, ln net.Listener, drain time.Duration, log *slog.Logger) error {
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	sigCtx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		srv.Close()
		return err
	case <-sigCtx.Done():
	}
	log.Info("draining", "timeout", drain.String())
	srv.Drain()
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err := hs.Shutdown(sctx)
	srv.Close()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("drain: %w", err)
	}
	log.Info("stopped")
	return nil
}
