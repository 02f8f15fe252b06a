package clip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/goclip/goclip/internal/encoder"
	"github.com/goclip/goclip/internal/safefile"
	"github.com/goclip/goclip/textenc"
	"github.com/goclip/goclip/vit"
)

// Config is CLIPConfig with its HF JSON field names. Both layouts load: the
// transformers-5 one (every field written out) and the 2021 one of
// openai/clip-vit-base-patch32 (many fields omitted, which take
// transformers' defaults; text_config_dict / vision_config_dict, when not
// null, are expanded with the defaults and replace text_config /
// vision_config, as in transformers).
type Config struct {
	TextConfig          textenc.Config `json:"text_config"`
	VisionConfig        vit.Config     `json:"vision_config"`
	ProjectionDim       int            `json:"projection_dim"`
	LogitScaleInitValue float64        `json:"logit_scale_init_value"`
	// Family is FamilyCLIP, FamilySigLIP (model_type "siglip"),
	// FamilySigLIP2 ("siglip2", NaFlex) or FamilyOpenCLIP (read from
	// open_clip_config.json).
	Family string `json:"-"`
	// logitBias: an OpenCLIP model with init_logit_bias (a logit_bias
	// tensor, sigmoid probabilities).
	logitBias bool
}

// DefaultConfig returns transformers' CLIPConfig defaults (ViT-B/32).
func DefaultConfig() Config {
	return Config{
		TextConfig:          textenc.DefaultConfig(),
		VisionConfig:        vit.DefaultConfig(),
		ProjectionDim:       512,
		LogitScaleInitValue: 2.6592,
	}
}

// ConfigError reports a malformed config.json, naming the field when known.
type ConfigError struct {
	File  string // path of the config file, if read from one
	Field string // JSON path of the offending field, e.g. "vision_config.patch_size"
	Err   error
}

func (e *ConfigError) Error() string {
	s := "clip: config"
	if e.File != "" {
		s = "clip: " + e.File
	}
	if e.Field != "" {
		s += ": field " + e.Field
	}
	return s + ": " + e.Err.Error()
}

func (e *ConfigError) Unwrap() error { return e.Err }

// ParseConfig decodes a config.json, filling omitted fields with
// transformers' defaults, and validates it.
func ParseConfig(data []byte) (*Config, error) {
	cfg := DefaultConfig()
	var raw struct {
		Config
		ModelType        string          `json:"model_type"`
		TextConfigDict   json.RawMessage `json:"text_config_dict"`
		VisionConfigDict json.RawMessage `json:"vision_config_dict"`
	}
	raw.Config = cfg
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, jsonConfigError("", err)
	}
	// Another architecture's config (siglip, blip, …) often parses as a
	// CLIPConfig with defaults filled in; refuse it instead of loading
	// weights it does not describe.
	switch raw.ModelType {
	case "", "clip":
	case "siglip":
		return parseSigLIPConfig(data, FamilySigLIP)
	case "siglip2":
		return parseSigLIPConfig(data, FamilySigLIP2)
	default:
		return nil, &ConfigError{Field: "model_type", Err: fmt.Errorf("model type %q is not supported (want \"clip\", \"siglip\" or \"siglip2\")", raw.ModelType)}
	}
	cfg = raw.Config
	// As in transformers, a non-null *_config_dict is expanded with the
	// defaults and then overrides every field of *_config.
	if d := raw.TextConfigDict; len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		cfg.TextConfig = textenc.DefaultConfig()
		if err := json.Unmarshal(d, &cfg.TextConfig); err != nil {
			return nil, jsonConfigError("text_config_dict.", err)
		}
	}
	if d := raw.VisionConfigDict; len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		cfg.VisionConfig = vit.DefaultConfig()
		if err := json.Unmarshal(d, &cfg.VisionConfig); err != nil {
			return nil, jsonConfigError("vision_config_dict.", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// LoadConfig reads and parses a config.json file.
func LoadConfig(path string) (*Config, error) {
	data, err := safefile.ReadFile(path, safefile.MaxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		var ce *ConfigError
		if errors.As(err, &ce) {
			ce.File = path
		}
		return nil, err
	}
	return cfg, nil
}

// Validate checks sizes for consistency.
func (c *Config) Validate() error {
	if err := c.VisionConfig.Validate(); err != nil {
		return &ConfigError{Err: err}
	}
	if err := c.TextConfig.Validate(); err != nil {
		return &ConfigError{Err: err}
	}
	if c.ProjectionDim <= 0 || c.ProjectionDim > encoder.MaxDim {
		return &ConfigError{Field: "projection_dim", Err: fmt.Errorf("%d must be in [1,%d]", c.ProjectionDim, encoder.MaxDim)}
	}
	return c.validateFamily()
}

func jsonConfigError(prefix string, err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return &ConfigError{Field: prefix + te.Field, Err: fmt.Errorf("has JSON %s, want %s", te.Value, te.Type)}
	}
	return &ConfigError{Err: err}
}
