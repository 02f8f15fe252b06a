package clip

import (
	"github.com/goclip/goclip/internal/openclip"
	"github.com/goclip/goclip/synth"
)

// parseOpenCLIPForTest turns open_clip_config.json into the synth config
// that writes its weights.
func parseOpenCLIPForTest(data []byte) (synth.Config, error) {
	oc, err := openclip.ParseConfig(data)
	if err != nil {
		return synth.Config{}, err
	}
	return synth.Config{Family: synth.FamilyOpenCLIP, Text: oc.Text, Vision: oc.Vision, ProjectionDim: oc.EmbedDim}, nil
}
