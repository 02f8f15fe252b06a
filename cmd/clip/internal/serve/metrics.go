package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series (prefix goclip_).
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // path, code
	latency   *prometheus.HistogramVec // path
	inflight  prometheus.Gauge
	batchSize *prometheus.HistogramVec // modality
	batchTime *prometheus.HistogramVec // modality
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "goclip_http_requests_total",
			Help: "HTTP API requests by path and status code."}, []string{"path", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "goclip_http_request_duration_seconds",
			Help: "HTTP API request latency.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"path"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "goclip_http_requests_in_flight",
			Help: "HTTP API requests being served."}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "goclip_batch_size",
			Help: "Inputs per model call.", Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128}}, []string{"modality"}),
		batchTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "goclip_batch_duration_seconds",
			Help: "Time of one model call.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"modality"}),
	}
	reg.MustRegister(m.requests, m.latency, m.inflight, m.batchSize, m.batchTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// queueDepth registers the queue gauges, read at scrape time.
func (m *metrics) queueDepth(text, image func() int64) {
	for mod, f := range map[string]func() int64{"text": text, "image": image} {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "goclip_queue_depth",
			Help: "Inputs waiting for a batch.", ConstLabels: prometheus.Labels{"modality": mod}},
			func() float64 { return float64(f()) }))
	}
}

func (m *metrics) observer(modality string) func(int, int64, time.Duration) {
	size, dur := m.batchSize.WithLabelValues(modality), m.batchTime.WithLabelValues(modality)
	return func(n int, _ int64, d time.Duration) {
		size.Observe(float64(n))
		dur.Observe(d.Seconds())
	}
}

func (m *metrics) handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// instrument counts and times the requests of one route.
func (m *metrics) instrument(path string, h http.Handler) http.Handler {
	lat := m.latency.WithLabelValues(path)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.inflight.Inc()
		defer m.inflight.Dec()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		start := time.Now()
		h.ServeHTTP(sw, r)
		lat.Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(path, strconv.Itoa(sw.code)).Inc()
	})
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}
