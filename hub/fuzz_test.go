package hub

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseTreePage feeds arbitrary bytes to the tree-API page parser: it
// returns entries or an error, never panics, never returns more entries
// than it has room for, and never reads past the page limit.
func FuzzParseTreePage(f *testing.F) {
	f.Add([]byte(`[{"type":"file","oid":"0123","size":12,"path":"a.txt"},{"type":"directory","oid":"ab","size":0,"path":"d"}]`))
	f.Add([]byte(`[{"type":"file","path":"m.safetensors","size":605,"oid":"x","lfs":{"oid":"` + strings.Repeat("a", 64) + `","size":605,"pointerSize":134}}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"path":1}]`))
	f.Add([]byte(`{"error":"x"}`))
	f.Add([]byte(`[{"type":"file"},`))
	f.Add([]byte(`[` + strings.Repeat(`{},`, 20) + `{}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, room := range []int{0, 3, 1000} {
			page, err := parseTreePage(bytes.NewReader(b), room, 1000)
			if err == nil && len(page) > room {
				t.Fatalf("%d entries with room for %d", len(page), room)
			}
		}
	})
}

// FuzzHeaders feeds arbitrary header values to the parsers of a Hub
// response's headers: Link (pagination), Retry-After, ETag, and URLs
// (Location, HF_ENDPOINT) through the origin check and the redaction.
func FuzzHeaders(f *testing.F) {
	f.Add(`<https://huggingface.co/api/models/o/n/tree/main?cursor=abc>; rel="next"`, "120", `W/"`+strings.Repeat("a", 64)+`"`, "https://user:pw@hf.co:8443/x")
	f.Add(`<a>; rel=next, <b>; rel="prev"`, "Wed, 21 Oct 2015 07:28:00 GMT", `"0123abc"`, "http://[::1]:80/")
	f.Add("", "-5", "W/W/W/", "://@@")
	f.Add("<>", "99999999999999999999", `""`, "http://a@b@c/")
	f.Fuzz(func(t *testing.T, link, retry, etag, u string) {
		next := nextLink(link)
		if next != "" && !strings.Contains(link, next) {
			t.Fatalf("next link %q not in %q", next, link)
		}
		d, ok := retryAfter(retry, time.Second)
		if ok && (d < 0 || d > MaxRetryAfter) {
			t.Fatalf("Retry-After %q gave %v", retry, d)
		}
		e := normalizeETag(etag)
		if len(e) > len(etag) {
			t.Fatalf("ETag grew: %q -> %q", etag, e)
		}
		r := redact(u)
		if p, err := url.Parse(u); err == nil && p.User != nil {
			q, err := url.Parse(r)
			if err != nil || q.User == nil || q.User.String() != "xxxxx" {
				t.Fatalf("redact(%q) = %q keeps the user information", u, r)
			}
		}
		if sameOrigin(u, next) != sameOrigin(next, u) {
			t.Fatalf("sameOrigin not symmetric on %q, %q", u, next)
		}
	})
}
