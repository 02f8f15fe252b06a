package dataset

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestTruncatedMemberAllocation: a 1.5 KB shard whose header announces a
// 60 MiB image member is an error (truncated) after allocating about what
// it holds; the reader used to allocate the announced 60 MiB first.
// Members larger than the first read buffer still come back whole.
func TestTruncatedMemberAllocation(t *testing.T) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "s0.png", Mode: 0o644, Size: 60 << 20, Typeflag: tar.TypeReg})
	tw.Write(make([]byte, 1000))
	shard := b.Bytes()[:b.Len()] // cut: no more data, no end blocks
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := ReadShard(context.Background(), bytes.NewReader(shard), "cut.tar", func(Sample) error { return nil })
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want a truncated-member error", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 4<<20 {
		t.Errorf("allocated %d MiB for a %d-byte shard", got>>20, len(shard))
	}

	img := make([]byte, 5<<20+123) // grows past 1 MiB three times
	for i := range img {
		img[i] = uint8(rand.Uint32())
	}
	good := tarBytes(t, []member{{"s1.cls", []byte("3")}, {"s1.png", img}})
	var got []Sample
	if err := ReadShard(context.Background(), bytes.NewReader(good), "big.tar", func(s Sample) error { got = append(got, s); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !bytes.Equal(got[0].Image, img) || got[0].Label != 3 {
		t.Errorf("big member: %d samples, image equal %v", len(got), len(got) == 1 && bytes.Equal(got[0].Image, img))
	}
}
