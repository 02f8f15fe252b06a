package clip

import (
	"fmt"
	"math"
	"strconv"
)

// sigmoidModel is the part of *Model a classifier asks for SigLIP's
// sigmoid probabilities (a TextEmbedder need not implement it).
type sigmoidModel interface {
	LogitBias() float32
	SigmoidProbs() bool
}

// TopKSigmoid ranks cosine scores as a SigLIP model does: logits are
// scale×score + bias, each probability the sigmoid of its own logit
// (computed in float64; transformers' torch.sigmoid(logits_per_image)),
// and the k best are returned best first (ties: lower index first). names
// may be nil.
func TopKSigmoid(scores []float32, scale, bias float32, names []string, k int) []Prediction {
	return topK(scores, names, k, func(s float32) (float32, float32) {
		l := s*scale + bias // float32, as the model's logits
		return l, float32(1 / (1 + math.Exp(-float64(l))))
	})
}

// probMeta records how a classifier turns logits into probabilities in
// its file's metadata: "probabilities" softmax or sigmoid, "logit_bias".
func probMeta(c *Classifier, md map[string]string) {
	md["probabilities"] = "softmax"
	if c.Sigmoid {
		md["probabilities"] = "sigmoid"
	}
	md["logit_bias"] = strconv.FormatFloat(float64(c.Bias), 'g', -1, 32)
}

// parseProbMeta reads what probMeta wrote; a file without it (written
// before SigLIP support) is a softmax classifier without bias.
func parseProbMeta(c *Classifier, meta map[string]string) string {
	switch meta["probabilities"] {
	case "", "softmax":
	case "sigmoid":
		c.Sigmoid = true
	default:
		return fmt.Sprintf("metadata probabilities %q, want softmax or sigmoid", meta["probabilities"])
	}
	if b, ok := meta["logit_bias"]; ok {
		v, err := strconv.ParseFloat(b, 32)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprintf("metadata logit_bias %q is not a finite number", b)
		}
		c.Bias = float32(v)
	}
	return ""
}

// ProbabilityKind names how the classifier's probabilities are computed: "sigmoid"
// (SigLIP, per class) or "softmax" (CLIP, over all classes), for reports.
func (c *Classifier) ProbabilityKind() string {
	if c.Sigmoid {
		return "sigmoid"
	}
	return "softmax"
}
