package bulk

import (
	"context"
	"fmt"

	"github.com/goclip/goclip/dataset"
)

// Part is one unit of work and one set of output files: a WebDataset
// shard, or a range of a folder's files.
type Part struct {
	Index int // part number: the i of img_emb_{i}.npy
	Parts int // number of parts (sets the zero padding of the names)
	Shard int // WebDataset shard index; -1 for a folder range
	Start int // folder range: first sample (in the dataset's sorted order)
	Count int // folder range: number of samples
	// Files are the part's files on a Beam file system (ListFiles): the
	// shard (Shard >= 0) or the images; empty for dataset.Open inputs.
	Files []FileRef
}

// DefaultPartSize is the number of folder images per part.
const DefaultPartSize = 10000

// ListParts splits a dataset into parts: one per WebDataset shard (in
// shard order), or ranges of partSize files of a folder dataset
// (DefaultPartSize when partSize <= 0). Only the listing is read, never
// an image.
func ListParts(ds *dataset.Dataset, partSize int) ([]Part, error) {
	if partSize <= 0 {
		partSize = DefaultPartSize
	}
	var parts []Part
	if ds.Kind == dataset.WebDataset {
		for i := range ds.Shards() {
			parts = append(parts, Part{Index: i, Shard: i})
		}
	} else {
		n := ds.Len()
		for start := 0; start < n; start += partSize {
			parts = append(parts, Part{Index: len(parts), Shard: -1, Start: start, Count: min(partSize, n-start)})
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("bulk: the dataset has no shards or images")
	}
	for i := range parts {
		parts[i].Parts = len(parts)
	}
	return parts, nil
}

// OpenDataset opens ref as the core CLI's --dataset does.
func OpenDataset(ctx context.Context, ref, split string) (*dataset.Dataset, error) {
	return dataset.Open(ctx, ref, &dataset.Options{Split: split})
}
