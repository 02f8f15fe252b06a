package clip

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/imageproc"
	"github.com/goclip/goclip/internal/openclip"
	"github.com/goclip/goclip/internal/safetensors"
	"github.com/goclip/goclip/tensor"
	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/vit"
)

// Model families Load reads (Config.Family).
const (
	// FamilyCLIP is transformers' CLIPModel (config.json model_type "clip").
	FamilyCLIP = ""
	// FamilySigLIP is transformers' SiglipModel (model_type "siglip"),
	// the layout of SigLIP and of SigLIP 2's fixed-resolution checkpoints:
	// logits exp(logit_scale)·cos + logit_bias, probabilities by sigmoid.
	FamilySigLIP = "siglip"
	// FamilySigLIP2 is transformers' Siglip2Model (model_type "siglip2"),
	// SigLIP 2's NaFlex checkpoints (google/siglip2-base-patch16-naflex):
	// SigLIP's towers, the images at their own aspect ratio as a variable
	// grid of patches (Siglip2ImageProcessor).
	FamilySigLIP2 = "siglip2"
	// FamilyOpenCLIP is an OpenCLIP checkpoint as published on the hub
	// (open_clip_config.json, open_clip_model.safetensors) of the standard
	// ViT CLIP family.
	FamilyOpenCLIP = "openclip"
)

// parseSigLIPConfig reads a SiglipConfig or (family FamilySigLIP2)
// Siglip2Config config.json: omitted fields take the text and vision
// configs' defaults.
func parseSigLIPConfig(data []byte, family string) (*Config, error) {
	var raw struct {
		Text   json.RawMessage `json:"text_config"`
		Vision json.RawMessage `json:"vision_config"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, jsonConfigError("", err)
	}
	cfg := Config{Family: family, TextConfig: textenc.DefaultSigLIPConfig(), VisionConfig: vit.DefaultSigLIPConfig()}
	if family == FamilySigLIP2 {
		cfg.VisionConfig = vit.DefaultNaFlexConfig()
	}
	if len(raw.Text) > 0 {
		if err := json.Unmarshal(raw.Text, &cfg.TextConfig); err != nil {
			return nil, jsonConfigError("text_config.", err)
		}
	}
	if len(raw.Vision) > 0 {
		if err := json.Unmarshal(raw.Vision, &cfg.VisionConfig); err != nil {
			return nil, jsonConfigError("vision_config.", err)
		}
	}
	cfg.ProjectionDim = cfg.VisionConfig.HiddenSize
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// validateFamily checks what Validate cannot see from the towers alone.
func (c *Config) validateFamily() error {
	switch c.Family {
	case FamilyCLIP, FamilyOpenCLIP:
		if c.VisionConfig.SigLIP || c.TextConfig.SigLIP {
			return &ConfigError{Field: "model_type", Err: errors.New("SigLIP towers in a CLIP model")}
		}
	case FamilySigLIP, FamilySigLIP2:
		if !c.VisionConfig.SigLIP || !c.TextConfig.SigLIP {
			return &ConfigError{Field: "model_type", Err: errors.New("a SigLIP model needs SigLIP towers")}
		}
		if c.VisionConfig.NaFlex != (c.Family == FamilySigLIP2) {
			return &ConfigError{Field: "model_type", Err: errors.New("a NaFlex vision tower belongs to model_type siglip2 only")}
		}
		if h := c.TextConfig.HeadSize(); h != c.VisionConfig.HiddenSize || c.ProjectionDim != h {
			return &ConfigError{Field: "text_config.projection_size", Err: fmt.Errorf(
				"text head size %d must equal the vision hidden_size %d (the embedding size)", h, c.VisionConfig.HiddenSize)}
		}
	default:
		return &ConfigError{Field: "model_type", Err: fmt.Errorf("unknown family %q", c.Family)}
	}
	return nil
}

// folder is a model folder opened by openFolder.
type folder struct {
	cfg     *Config
	weights safetensors.Store // closed by the Model
	store   tensor.Store      // weights under CLIPModel/SiglipModel names
	oc      *openclip.Config  // OpenCLIP only
}

// openFolder reads dir's config and opens its weights. A folder with
// config.json is read as transformers' layout (CLIP or SigLIP), even if it
// also holds OpenCLIP files, as the hub resolver picks it; otherwise
// open_clip_config.json and open_clip_model.safetensors.
func openFolder(dir string) (*folder, error) {
	cpath := filepath.Join(dir, "config.json")
	ocpath := filepath.Join(dir, "open_clip_config.json")
	if _, err := os.Stat(cpath); err != nil {
		if _, oerr := os.Stat(ocpath); oerr == nil {
			return openOpenCLIP(dir, ocpath)
		}
	}
	cfg, err := LoadConfig(cpath)
	if err != nil {
		return nil, err
	}
	w, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	return &folder{cfg: cfg, weights: w, store: w}, nil
}

func openOpenCLIP(dir, path string) (*folder, error) {
	data, err := readBounded(path, 1<<20)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	oc, err := openclip.ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("clip: %s: %w", path, err)
	}
	cfg := &Config{Family: FamilyOpenCLIP, TextConfig: oc.Text, VisionConfig: oc.Vision, ProjectionDim: oc.EmbedDim, logitBias: oc.LogitBias}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, err := safetensors.Open(filepath.Join(dir, "open_clip_model.safetensors"))
	if err != nil {
		return nil, fmt.Errorf("clip: OpenCLIP weights: %w", err)
	}
	return &folder{cfg: cfg, weights: w, store: &openclip.Store{Base: w, TextPrefix: oc.TextPrefix}, oc: oc}, nil
}

// readBounded reads a small file, refusing one larger than limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", path, st.Size(), limit)
	}
	return os.ReadFile(path)
}

// familyProcessor is the image preprocessing of a folder:
// preprocessor_config.json when present; otherwise CLIP's defaults,
// SiglipImageProcessor's (SigLIP), at the vision tower's size. OpenCLIP
// folders always use open_clip's eval transform from preprocess_cfg
// (imageproc.NewOpenCLIP), as open_clip.create_model_and_transforms does.
func familyProcessor(dir string, f *folder, workers int) (*imageproc.Processor, error) {
	size := f.cfg.VisionConfig.ImageSize
	var c *imageproc.Config
	switch {
	case f.oc != nil:
		p, err := imageproc.NewOpenCLIP(&f.oc.Preprocess)
		if err != nil {
			return nil, fmt.Errorf("clip: open_clip_config.json: %w", err)
		}
		return p.WithWorkers(workers), nil
	case f.cfg.Family == FamilySigLIP:
		if _, err := os.Stat(filepath.Join(dir, "preprocessor_config.json")); err != nil {
			c = imageproc.DefaultSigLIPConfig(size)
		}
	case f.cfg.Family == FamilySigLIP2:
		return naflexProcessor(dir, &f.cfg.VisionConfig, workers)
	}
	if c == nil {
		p, err := loadProcessor(dir, size, workers)
		if err == nil && p.NaFlex() {
			return nil, fmt.Errorf("clip: %s: Siglip2ImageProcessor (NaFlex) is for model_type siglip2, not %q",
				filepath.Join(dir, "preprocessor_config.json"), f.cfg.Family)
		}
		return p, err
	}
	p, err := imageproc.New(c)
	if err != nil {
		return nil, err
	}
	return p.WithWorkers(workers), nil
}
