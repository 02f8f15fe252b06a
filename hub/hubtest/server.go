// Package hubtest serves a fake Hugging Face Hub on loopback for tests and
// examples: the resolve endpoints (HEAD and GET, with the X-Repo-Commit,
// ETag, X-Linked-Etag and X-Linked-Size headers and the redirect of LFS
// files to a separate CDN host), Range requests, the tree API with Link
// pagination, and the Hub's error headers. Faults can be injected: a
// connection dropped after N bytes, corrupted content, a required token.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// LFSThreshold: files larger than this are served as LFS files (ETag =
// sha256, redirect to the CDN host), smaller ones as git files (ETag = git
// blob sha1, served directly), like a repo whose .gitattributes tracks
// large files.
const LFSThreshold = 1024

// Server is a fake Hub. Its URL is the value for HF_ENDPOINT.
type Server struct {
	Hub *httptest.Server // the Hub host (resolve and API)
	CDN *httptest.Server // a different host serving LFS content
	URL string           // Hub.URL

	// Token, when set, must be sent as a bearer token to the Hub host.
	Token string
	// PageSize bounds tree API pages (default 1000, like the Hub).
	PageSize int
	// Intercept, when set, sees every request to the Hub host first (after
	// it is recorded); returning true means it answered, and the fake Hub
	// does nothing more. Tests use it to play a misbehaving server: stalls,
	// endless bodies, cross-origin redirects and links, 429/503 answers.
	Intercept func(w http.ResponseWriter, r *http.Request) bool

	mu       sync.Mutex
	repos    map[string]*repo // "models/org/name", "datasets/org/name"
	drops    map[string][]int64
	corrupt  map[string]bool
	requests []Request
}

// Request is one request the server received.
type Request struct {
	Host, Method, Path, Range string
	Auth                      bool // an Authorization header was present
}

type repo struct {
	commit string
	files  map[string][]byte
}

// New starts a fake Hub and its CDN on loopback. Close it when done.
func New() *Server {
	s := &Server{repos: map[string]*repo{}, drops: map[string][]int64{}, corrupt: map[string]bool{}}
	s.CDN = httptest.NewServer(http.HandlerFunc(s.serveCDN))
	s.Hub = httptest.NewServer(http.HandlerFunc(s.serveHub))
	s.URL = s.Hub.URL
	return s
}

// Close stops both servers.
func (s *Server) Close() {
	s.Hub.Close()
	s.CDN.Close()
}

// AddRepo publishes a repository ("model" or "dataset" type, id "org/name")
// with the given files at one commit, and returns the commit hash (the
// sha1 of the sorted file names and contents, so it is deterministic).
func (s *Server) AddRepo(typ, id string, files map[string][]byte) string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha1.New()
	cp := make(map[string][]byte, len(files))
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
		cp[n] = append([]byte(nil), files[n]...)
	}
	commit := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	s.repos[typ+"s/"+id] = &repo{commit: commit, files: cp}
	s.mu.Unlock()
	return commit
}

// DropAfter makes the next GET of the file's content (one per value, in
// order) close the connection after that many bytes of the body.
func (s *Server) DropAfter(file string, nBytes ...int64) {
	s.mu.Lock()
	s.drops[file] = append(s.drops[file], nBytes...)
	s.mu.Unlock()
}

// Corrupt makes GETs of the file serve content that differs from what its
// ETag announces (same size, one byte flipped).
func (s *Server) Corrupt(file string, on bool) {
	s.mu.Lock()
	s.corrupt[file] = on
	s.mu.Unlock()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) record(r *http.Request, host string) {
	s.mu.Lock()
	s.requests = append(s.requests, Request{Host: host, Method: r.Method, Path: r.URL.Path,
		Range: r.Header.Get("Range"), Auth: r.Header.Get("Authorization") != ""})
	s.mu.Unlock()
}

// GitBlobSHA1 is the git object id of a blob: sha1("blob <len>\0" + data).
func GitBlobSHA1(data []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// SHA256 is the hex sha256 of data (the ETag of an LFS file).
func SHA256(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	if msg != "" {
		w.Header().Set("X-Error-Message", msg)
	}
	http.Error(w, msg, status)
}

func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	s.record(r, "hub")
	if s.Intercept != nil && s.Intercept(w, r) {
		return
	}
	if s.Token != "" {
		switch auth := r.Header.Get("Authorization"); {
		case auth == "":
			hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
			return
		case auth != "Bearer "+s.Token:
			hubError(w, http.StatusUnauthorized, "", "Invalid credentials in Authorization header")
			return
		}
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		parts[i] = u
	}
	if len(parts) >= 6 && parts[0] == "api" && parts[4] == "tree" {
		s.serveTree(w, r, parts[1:])
		return
	}
	typ := "models"
	if len(parts) > 0 && parts[0] == "datasets" {
		typ, parts = "datasets", parts[1:]
	}
	if len(parts) < 5 || parts[2] != "resolve" {
		http.NotFound(w, r)
		return
	}
	s.serveResolve(w, r, typ+"/"+parts[0]+"/"+parts[1], parts[3], strings.Join(parts[4:], "/"))
}

func (s *Server) lookup(w http.ResponseWriter, key, rev string) *repo {
	s.mu.Lock()
	rp := s.repos[key]
	s.mu.Unlock()
	if rp == nil {
		hubError(w, http.StatusUnauthorized, "RepoNotFound", "Repository not found")
		return nil
	}
	if rev != "main" && rev != rp.commit {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil
	}
	return rp
}

func (s *Server) serveResolve(w http.ResponseWriter, r *http.Request, key, rev, file string) {
	rp := s.lookup(w, key, rev)
	if rp == nil {
		return
	}
	w.Header().Set("X-Repo-Commit", rp.commit)
	data, ok := rp.files[file]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound", file+" does not exist on \""+rev+"\"")
		return
	}
	if len(data) > LFSThreshold {
		sum := SHA256(data)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(data)))
		w.Header().Set("ETag", `W/"not-the-content-hash"`)
		// The CDN is reached by another host name than the Hub (localhost
		// vs 127.0.0.1), as a real CDN is: clients must not send the token
		// there and must stop following redirects at it.
		loc := strings.Replace(s.CDN.URL, "127.0.0.1", "localhost", 1) + "/cdn/" + key + "/" + sum + "?file=" + url.QueryEscape(file) + "&signature=x"
		http.Redirect(w, r, loc, http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+GitBlobSHA1(data)+`"`)
	s.serveBytes(w, r, file, data)
}

func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	s.record(r, "cdn")
	// /cdn/{models|datasets}/{org}/{name}/{sha256}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/cdn/"), "/")
	if len(parts) != 4 {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	rp := s.repos[strings.Join(parts[:3], "/")]
	s.mu.Unlock()
	file := r.URL.Query().Get("file")
	if rp == nil || rp.files[file] == nil || SHA256(rp.files[file]) != parts[3] {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", `"`+parts[3]+`"`)
	s.serveBytes(w, r, file, rp.files[file])
}

// serveBytes answers HEAD and GET, with "bytes=N-" ranges, corruption and
// dropped connections.
func (s *Server) serveBytes(w http.ResponseWriter, r *http.Request, file string, data []byte) {
	total := len(data)
	w.Header().Set("Accept-Ranges", "bytes")
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.Itoa(total))
		w.WriteHeader(http.StatusOK)
		return
	}
	s.mu.Lock()
	if s.corrupt[file] {
		data = append([]byte(nil), data...)
		data[len(data)/2] ^= 0xff
	}
	drop := int64(-1)
	if d := s.drops[file]; len(d) > 0 {
		drop, s.drops[file] = d[0], d[1:]
	}
	s.mu.Unlock()
	start := 0
	status := http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
		if err != nil || !strings.HasSuffix(rg, "-") || n < 0 || n >= total {
			w.Header().Set("Content-Range", "bytes */"+strconv.Itoa(total))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		start, status = n, http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", n, total-1, total))
	}
	body := data[start:]
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if drop >= 0 && drop < int64(len(body)) {
		w.Write(body[:drop])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	w.Write(body)
}

type treeEntry struct {
	Type string `json:"type"`
	OID  string `json:"oid"`
	Size int    `json:"size"`
	Path string `json:"path"`
	LFS  *struct {
		OID         string `json:"oid"`
		Size        int    `json:"size"`
		PointerSize int    `json:"pointerSize"`
	} `json:"lfs,omitempty"`
}

// serveTree answers /api/{type}s/{org}/{name}/tree/{rev}[/{dir}] with
// ?recursive and ?cursor=N pagination.
func (s *Server) serveTree(w http.ResponseWriter, r *http.Request, parts []string) {
	// parts: {type}s, org, name, "tree", rev, dir...
	if len(parts) < 5 || parts[3] != "tree" {
		http.NotFound(w, r)
		return
	}
	key := parts[0] + "/" + parts[1] + "/" + parts[2]
	rp := s.lookup(w, key, parts[4])
	if rp == nil {
		return
	}
	dir := strings.Trim(strings.Join(parts[5:], "/"), "/")
	recursive := r.URL.Query().Get("recursive") == "true"
	seen := map[string]bool{}
	var all []treeEntry
	for name, data := range rp.files {
		rel := name
		if dir != "" {
			if !strings.HasPrefix(name, dir+"/") {
				continue
			}
			rel = strings.TrimPrefix(name, dir+"/")
		}
		segs := strings.Split(rel, "/")
		// directories on the way
		for i := 1; i < len(segs); i++ {
			if !recursive && i > 1 {
				break
			}
			d := path.Join(dir, strings.Join(segs[:i], "/"))
			if !seen[d] {
				seen[d] = true
				all = append(all, treeEntry{Type: "directory", Path: d, OID: GitBlobSHA1([]byte(d))})
			}
		}
		if !recursive && len(segs) > 1 {
			continue
		}
		e := treeEntry{Type: "file", Path: name, Size: len(data), OID: GitBlobSHA1(data)}
		if len(data) > LFSThreshold {
			e.LFS = &struct {
				OID         string `json:"oid"`
				Size        int    `json:"size"`
				PointerSize int    `json:"pointerSize"`
			}{SHA256(data), len(data), 134}
		}
		all = append(all, e)
	}
	if dir != "" && len(all) == 0 {
		hubError(w, http.StatusNotFound, "EntryNotFound", dir+" does not exist")
		return
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Path < all[j].Path })
	size := s.PageSize
	if size <= 0 {
		size = 1000
	}
	cursor, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	if cursor < 0 || cursor > len(all) {
		cursor = len(all)
	}
	end := min(cursor+size, len(all))
	if end < len(all) {
		q := r.URL.Query()
		q.Set("cursor", strconv.Itoa(end))
		next := *r.URL
		next.RawQuery = q.Encode()
		w.Header().Set("Link", `<`+s.URL+next.RequestURI()+`>; rel="next"`)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(all[cursor:end])
}
