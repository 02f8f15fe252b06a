package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/goclip/goclip/synth"
)

// childEnv makes the test binary run main (the real CLI, Prism in the
// same process as its loopback workers) instead of the tests: the kill
// test starts the pipeline as a separate process this way, with no build
// step of its own.
const childEnv = "GOCLIP_EMBED_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	// Beam's loopback mode leaves an empty "beamloopbackworker-*" file in
	// os.TempDir() per pipeline (Beam issue 27569): the tests and their
	// children use a TMPDIR of their own, removed after.
	tmp, err := os.MkdirTemp("", "goclip-beam-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("TMPDIR", tmp)
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// killFixture writes a folder of n small PNGs with sidecar captions and
// the synthetic tiny model, and returns their paths.
func killFixture(t *testing.T, n int) (model, input string) {
	model = filepath.Join(t.TempDir(), "model")
	if err := synth.WriteModel(model, synth.Tiny(), 7); err != nil {
		t.Fatal(err)
	}
	input = t.TempDir()
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 48+i%9, 40+i%7))
		for y := range img.Rect.Dy() {
			for x := range img.Rect.Dx() {
				img.Set(x, y, color.RGBA{byte(x*5 + i*17), byte(y*3 + i*29), byte((x + y) * i), 255})
			}
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(input, fmt.Sprintf("img%03d", i))
		if err := os.WriteFile(name+".png", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name+".txt", []byte(fmt.Sprintf("picture number %d", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return model, input
}

// embedCmd is the CLI as a child process writing to out.
func embedCmd(model, input, out string, stderr *bytes.Buffer) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "--runner=prism", "--model", model, "--input", input, "--output", out,
		"--batch", "4", "--part-size", "4", "--workers", "1")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	return cmd
}

// TestKillAndRerun SIGKILLs the pipeline process once some parts are
// written, re-runs it, and checks the output tree is byte for byte that of
// an uninterrupted run: every image once, no part lost or doubled, no
// temporary file left over.
func TestKillAndRerun(t *testing.T) {
	const images, parts = 48, 12
	model, input := killFixture(t, images)
	clean := t.TempDir()
	var log bytes.Buffer
	if err := embedCmd(model, input, clean, &log).Run(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, log.String())
	}
	want := outputTree(t, clean)
	checkRows(t, clean, images, parts)
	// The run removed its temporary folder, Beam's loopback file with it.
	left := append(glob(t, filepath.Join(os.TempDir(), "beamloopbackworker-*")), glob(t, filepath.Join(os.TempDir(), "goclip-embed-*"))...)
	if len(left) > 0 {
		t.Fatalf("the run left %v in TMPDIR", left)
	}

	out := t.TempDir()
	log.Reset()
	cmd := embedCmd(model, input, out, &log)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Kill as soon as the first part is complete (its metadata file is
	// the part's last write), polling every millisecond.
	deadline := time.After(2 * time.Minute)
	for written := 0; written == 0; {
		select {
		case err := <-done:
			t.Fatalf("the run ended before any part was written: %v\n%s", err, log.String())
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("no part written within 2 minutes")
		case <-time.After(time.Millisecond):
		}
		written = len(glob(t, filepath.Join(out, "metadata", "metadata_*.parquet")))
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-done
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the run was not killed by SIGKILL: %v", err)
	}
	killed := outputTree(t, out)
	complete := len(glob(t, filepath.Join(out, "metadata", "metadata_*.parquet")))
	if complete >= parts {
		t.Fatalf("the kill came after the run had written all %d parts: nothing was interrupted", parts)
	}
	if _, ok := killed["summary.json"]; ok {
		t.Fatal("the killed run wrote summary.json")
	}
	t.Logf("killed with %d of %d parts complete; %d files on disk: %v", complete, parts, len(killed), names(killed))
	// A kill during a write leaves the writer's temporary file (the rename
	// never came); the millisecond window is rarely hit, so leave such
	// files here, for a part that was written and for one that was not:
	// the re-run must remove them, and they are no output.
	for _, stale := range []string{"img_emb/.img_emb_00.npy.tmp-4242", "metadata/.metadata_11.parquet.tmp-17"} {
		if err := os.WriteFile(filepath.Join(out, stale), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	log.Reset()
	if err := embedCmd(model, input, out, &log).Run(); err != nil {
		t.Fatalf("re-run: %v\n%s", err, log.String())
	}
	got := outputTree(t, out)
	if d := diffTrees(want, got); d != "" {
		t.Fatalf("re-run after the kill differs from an uninterrupted run: %s", d)
	}
	checkRows(t, out, images, parts)
}

// outputTree maps every file under root (temporary ones included) to its
// bytes.
func outputTree(t *testing.T, root string) map[string][]byte {
	m := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		m[rel] = b
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffTrees(want, got map[string][]byte) string {
	var d []string
	for k, v := range want {
		if w, ok := got[k]; !ok {
			d = append(d, "missing "+k)
		} else if !bytes.Equal(v, w) {
			d = append(d, "different bytes in "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, "extra file "+k)
		}
	}
	return strings.Join(d, ", ")
}

func names(m map[string][]byte) []string {
	var n []string
	for k := range m {
		n = append(n, k)
	}
	return n
}

func glob(t *testing.T, pattern string) []string {
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// checkRows checks the output holds parts parts, each image exactly once
// across the metadata files, and as many embedding rows (image and text)
// as metadata rows in every part.
func checkRows(t *testing.T, out string, images, parts int) {
	t.Helper()
	metas := glob(t, filepath.Join(out, "metadata", "metadata_*.parquet"))
	if len(metas) != parts {
		t.Fatalf("%d metadata files, want %d", len(metas), parts)
	}
	seen := map[string]bool{}
	for _, mp := range metas {
		rows, err := parquet.ReadFile[struct {
			ImagePath string `parquet:"image_path"`
		}](mp)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if seen[r.ImagePath] {
				t.Fatalf("%s appears twice", r.ImagePath)
			}
			seen[r.ImagePath] = true
		}
		n := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(mp), "metadata_"), ".parquet")
		for _, e := range []string{"img_emb/img_emb_", "text_emb/text_emb_"} {
			if r := npyRows(t, filepath.Join(out, e+n+".npy")); r != len(rows) {
				t.Fatalf("part %s: %d rows in %s but %d in the metadata", n, r, e, len(rows))
			}
		}
	}
	if len(seen) != images {
		t.Fatalf("%d distinct images in the output, want %d", len(seen), images)
	}
}

// npyRows reads the first dimension of a .npy file's shape.
func npyRows(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 10 || string(b[1:6]) != "NUMPY" {
		t.Fatalf("%s: not a .npy file", path)
	}
	hl := int(binary.LittleEndian.Uint16(b[8:10]))
	h := string(b[10 : 10+hl])
	var rows, cols int
	i := strings.Index(h, "'shape': (")
	if i < 0 {
		t.Fatalf("%s: no shape in %q", path, h)
	}
	if _, err := fmt.Sscanf(h[i+len("'shape': ("):], "%d, %d)", &rows, &cols); err != nil {
		t.Fatalf("%s: shape in %q: %v", path, h, err)
	}
	return rows
}
