package clip

import (
	_ "embed"
	"strings"
)

// Built-in zero-shot data, from open_clip's zero_shot_metadata.py (MIT);
// see prompts/README.md for the source and the regeneration command.
var (
	//go:embed prompts/imagenet_classes.txt
	imagenetClassesTxt string
	//go:embed prompts/imagenet_templates.txt
	imagenetTemplatesTxt string
	//go:embed prompts/imagenet_templates_simple.txt
	imagenetSimpleTemplatesTxt string
)

// TemplatePlaceholder marks where a prompt template takes the class name.
const TemplatePlaceholder = "{}"

// ImageNetClasses returns the 1,000 ImageNet class names used by CLIP's
// zero-shot evaluation (OpenAI's cleaned names), in class-index order.
// The slice is a fresh copy.
func ImageNetClasses() []string { return splitLines(imagenetClassesTxt) }

// ImageNetTemplates returns OpenAI's 80 ImageNet prompt templates
// ("a bad photo of a {}.", …). The slice is a fresh copy.
func ImageNetTemplates() []string { return splitLines(imagenetTemplatesTxt) }

// ImageNetSimpleTemplates returns the 7-template subset that open_clip
// calls SIMPLE_IMAGENET_TEMPLATES. The slice is a fresh copy.
func ImageNetSimpleTemplates() []string { return splitLines(imagenetSimpleTemplatesTxt) }

// ApplyTemplate substitutes class for every "{}" in template.
func ApplyTemplate(template, class string) string {
	return strings.ReplaceAll(template, TemplatePlaceholder, class)
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" {
			out = append(out, l)
		}
	}
	return out
}
