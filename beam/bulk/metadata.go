package bulk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"
)

// row is one embedded sample's metadata: the columns clip-retrieval's
// writer gives it (image_path, caption) and the sample's .json member
// flattened the way pandas.json_normalize does (nested keys joined with
// ".").
type row struct {
	ImagePath string
	Caption   *string // nil: no caption column value (null)
	Meta      map[string]any
}

// parseMeta flattens a JSON object; values stay json.Number, string, bool,
// nil, or (arrays) their JSON text. A member that is not a JSON object is
// an error, which the caller reports as a bad sample's metadata.
func parseMeta(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		return nil, fmt.Errorf("metadata is not a JSON object: %w", err)
	}
	out := map[string]any{}
	flatten("", obj, out)
	// clip-retrieval drops these from the parsed metadata: its own columns win.
	delete(out, "caption")
	delete(out, "image_path")
	delete(out, "metadata")
	return out, nil
}

func flatten(prefix string, obj map[string]any, out map[string]any) {
	for k, v := range obj {
		switch v := v.(type) {
		case map[string]any:
			flatten(prefix+k+".", v, out)
		case []any:
			b, _ := json.Marshal(v) // cannot fail: decoded JSON values
			out[prefix+k] = string(b)
		default:
			out[prefix+k] = v
		}
	}
}

// colKind is the parquet type a metadata column gets, inferred over the
// part's rows as pandas would: all integers -> int64, all numbers ->
// double, all booleans -> boolean, otherwise strings (non-string values as
// their JSON text). Nulls and absent keys are nulls.
type colKind int

const (
	kindNull colKind = iota
	kindInt
	kindFloat
	kindBool
	kindString
)

func valueKind(v any) colKind {
	switch v := v.(type) {
	case nil:
		return kindNull
	case bool:
		return kindBool
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return kindInt
		}
		return kindFloat
	}
	return kindString
}

func merge(a, b colKind) colKind {
	switch {
	case a == kindNull:
		return b
	case b == kindNull || a == b:
		return a
	case (a == kindInt && b == kindFloat) || (a == kindFloat && b == kindInt):
		return kindFloat
	}
	return kindString
}

// metadataParquet encodes rows as clip-retrieval's metadata_{i}.parquet:
// image_path, caption (when withCaption) and the metadata columns, every
// column optional (as pandas writes them), snappy-compressed (pandas'
// default). Columns come in name order (parquet-go orders a group's
// fields by name); readers select by name. The bytes are a function of the
// rows only (no timestamps), so a re-run writes the same file.
func metadataParquet(rows []row, withCaption bool) ([]byte, error) {
	kinds := map[string]colKind{}
	for _, r := range rows {
		for k, v := range r.Meta {
			kinds[k] = merge(kinds[k], valueKind(v))
		}
	}
	group := parquet.Group{"image_path": parquet.Optional(parquet.String())}
	if withCaption {
		group["caption"] = parquet.Optional(parquet.String())
	}
	for k, kind := range kinds {
		if _, taken := group[k]; taken {
			continue
		}
		switch kind {
		case kindInt:
			group[k] = parquet.Optional(parquet.Int(64))
		case kindFloat:
			group[k] = parquet.Optional(parquet.Leaf(parquet.DoubleType))
		case kindBool:
			group[k] = parquet.Optional(parquet.Leaf(parquet.BooleanType))
		default:
			group[k] = parquet.Optional(parquet.String())
		}
	}
	schema := parquet.NewSchema("schema", group)
	var names []string
	for _, path := range schema.Columns() {
		names = append(names, strings.Join(path, "."))
	}
	var buf bytes.Buffer
	w := parquet.NewWriter(&buf, schema, parquet.Compression(&snappy.Codec{}), parquet.CreatedBy("goclip-beam", "1", ""))
	prows := make([]parquet.Row, len(rows))
	for i, r := range rows {
		pr := make(parquet.Row, len(names))
		for c, name := range names {
			var v any
			switch {
			case name == "image_path":
				v = r.ImagePath
			case name == "caption" && withCaption:
				if r.Caption != nil {
					v = *r.Caption
				}
			default:
				v = r.Meta[name]
			}
			pv, err := parquetValue(v, kinds[name])
			if err != nil {
				return nil, fmt.Errorf("bulk: metadata column %s: %w", name, err)
			}
			if pv.IsNull() {
				pr[c] = pv.Level(0, 0, c)
			} else {
				pr[c] = pv.Level(0, 1, c)
			}
		}
		prows[i] = pr
	}
	if _, err := w.WriteRows(prows); err != nil {
		return nil, fmt.Errorf("bulk: writing metadata: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("bulk: writing metadata: %w", err)
	}
	return buf.Bytes(), nil
}

func parquetValue(v any, kind colKind) (parquet.Value, error) {
	if v == nil {
		return parquet.NullValue(), nil
	}
	if s, ok := v.(string); ok && (kind == kindString || kind == kindNull) {
		return parquet.ByteArrayValue([]byte(s)), nil
	}
	switch kind {
	case kindInt:
		n, err := strconv.ParseInt(string(v.(json.Number)), 10, 64)
		return parquet.Int64Value(n), err
	case kindFloat:
		f, err := v.(json.Number).Float64()
		return parquet.DoubleValue(f), err
	case kindBool:
		return parquet.BooleanValue(v.(bool)), nil
	}
	switch v := v.(type) {
	case json.Number:
		return parquet.ByteArrayValue([]byte(v)), nil
	case bool:
		return parquet.ByteArrayValue([]byte(strconv.FormatBool(v))), nil
	}
	return parquet.ByteArrayValue([]byte(fmt.Sprint(v))), nil
}
