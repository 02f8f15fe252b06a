package bulk

import (
	"fmt"
	"os"
	"path/filepath"
)

// Output folders and file names of clip-retrieval's NumpyWriter.
const (
	ImageDir    = "img_emb"
	TextDir     = "text_emb"
	MetadataDir = "metadata"
)

// partName is clip-retrieval's part number: zero-padded to
// int(log10(parts)) + 1 digits (writer.py's oom_partition_count).
func partName(i, parts int) string {
	digits := len(fmt.Sprint(max(parts, 1)))
	return fmt.Sprintf("%0*d", digits, i)
}

// PartFiles returns the three files of part i of parts under out
// (image embeddings, text embeddings, metadata).
func PartFiles(out string, i, parts int) (img, text, meta string) {
	n := partName(i, parts)
	return joinPath(out, ImageDir, "img_emb_"+n+".npy"),
		joinPath(out, TextDir, "text_emb_"+n+".npy"),
		joinPath(out, MetadataDir, "metadata_"+n+".parquet")
}

func localJoin(dir string, elem ...string) string {
	return filepath.Join(append([]string{dir}, elem...)...)
}

// writeAtomic writes data to path through a temporary file in the same
// folder and a rename, so a reader (or a retried bundle) sees the old file
// or the whole new one, never a part. Temporary files a killed earlier
// attempt left for the same path are removed first.
func writeAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	prefix := "." + base + ".tmp-"
	if stale, err := filepath.Glob(filepath.Join(dir, prefix+"*")); err == nil {
		for _, s := range stale {
			os.Remove(s)
		}
	}
	f, err := os.CreateTemp(dir, prefix+"*")
	if err != nil {
		return fmt.Errorf("bulk: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("bulk: writing %s: %w", path, err)
	}
	return nil
}
