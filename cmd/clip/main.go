// Command clip runs CLIP models from Go: tokenize, preprocess, embed,
// compare, classify, evaluate and benchmark. Run `clip help` for the list.
//
// Every subcommand lives in its own file and has the signature of command.run;
// errors are printed as one line and the process exits non-zero.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"tokenize":   {"print CLIP token ids for JSON strings read from standard input", runTokenize},
		"embed":      {"write image and text embeddings to a safetensors file", runEmbed},
		"bench":      {"time the image and text towers", runBench},
		"preprocess": {"write CLIPImageProcessor pixel values for image files", runPreprocess},
		"synth":      {"write a model folder with deterministic synthetic weights", runSynth},
		"similarity": {"cosine-similarity matrix of images and texts, with a heatmap", runSimilarity},
		"classify":   {"zero-shot classification of images", runClassify},
		"eval":       {"zero-shot accuracy on a WebDataset or image-folder dataset", runEval},
		"index":      {"build, search and export an on-disk image index", runIndex},
		"serve":      {"HTTP embedding, classification and search service", runServe},
	}
}

func main() {
	ctx, stop := notifyInterrupt(context.Background(), os.Stderr, os.Exit)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, errorLine(err))
		}
		os.Exit(1)
	}
}

// errorLine formats err as the one line main prints: "clip: embed:
// /path/model.safetensors: …". Library errors carry their package prefix
// ("clip: /path: …"), which after the command's own prefix would read
// "clip: embed: clip: /path"; the inner "clip: " is dropped (file and
// tensor names stay) and line breaks become spaces.
func errorLine(err error) string {
	msg := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " ")
	for strings.HasPrefix(msg, "clip: ") {
		msg = msg[len("clip: "):]
	}
	return "clip: " + strings.ReplaceAll(msg, ": clip: ", ": ")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		return fmt.Errorf("unknown command %q (run `clip help`)", args[0])
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	if err != nil && !errors.Is(err, flag.ErrHelp) && !strings.HasPrefix(err.Error(), args[0]+": ") {
		// Every error line names its command, whether or not the command
		// added the prefix itself.
		err = fmt.Errorf("%s: %w", args[0], err)
	}
	return err
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: clip <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
}
