// Command clip runs CLIP models from Go: tokenize, preprocess, embed,
// compare, classify, evaluate and benchmark. Run `clip help` for the list
// and `clip help COMMAND` for one command.
//
// Every subcommand lives in its own file and has the signature of
// command.run. Flags may come before, between or after the positional
// arguments; "--" ends them. Errors are printed as one line, "clip
// COMMAND: …"; the exit status is 2 for a command line the command cannot
// run and 1 for every other failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"sort"

	"github.com/goclip/goclip/tensor"
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
		fmt.Fprintln(os.Stderr, errorLine(err))
	}
	os.Exit(exitCode(err))
}

// commandError is a command's error, wrapped once with its name.
type commandError struct {
	cmd string
	err error
}

func (e *commandError) Error() string { return e.cmd + ": " + e.err.Error() }
func (e *commandError) Unwrap() error { return e.err }

// errorLine is the line main prints for run's error: "clip embed: …" for a
// command's error, "clip: …" for one of the command line itself.
func errorLine(err error) string {
	var ce *commandError
	if errors.As(err, &ce) {
		return "clip " + err.Error()
	}
	return "clip: " + err.Error()
}

// exitCode is the process status for run's error: 0 on success, 2 for a
// usage error, 1 otherwise.
func exitCode(err error) int {
	var u *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	}
	return 1
}

// run runs one command line. A command's error comes back wrapped once
// with the command's name ("embed: …"); main prefixes "clip ".
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 {
		usage(stderr, cmds)
		return &usageError{msg: "no command given"}
	}
	switch args[0] {
	case "help", "-h", "--help":
		if len(args) > 1 && args[0] == "help" {
			if _, ok := cmds[args[1]]; !ok {
				return &usageError{msg: fmt.Sprintf("help: unknown command %q", args[1])}
			}
			return run(ctx, append(args[1:], "--help"), stdout, stderr) // `clip help index build` too
		}
		usage(stdout, cmds)
		return nil
	case "version", "-version", "--version":
		printVersion(stdout)
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		return &usageError{msg: fmt.Sprintf("unknown command %q", args[0])}
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	if err != nil {
		return &commandError{cmd: args[0], err: err}
	}
	return nil
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: clip <command> [flags] [arguments]\n       clip help <command>\n       clip --version\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
}

// printVersion prints the module version and VCS revision the binary was
// built from, the Go version, and the kernel set package tensor chose for
// this CPU.
func printVersion(w io.Writer) {
	path, version, rev := "github.com/goclip/goclip", "(unknown)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			path = bi.Main.Path
		}
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev += " " + s.Value
			case "vcs.modified":
				if s.Value == "true" {
					rev += " (modified)"
				}
			}
		}
	}
	fmt.Fprintf(w, "clip %s %s%s\n", path, version, rev)
	fmt.Fprintf(w, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "kernels: %s\n", tensor.Kernel())
	fmt.Fprintf(w, "kernels by --precision: %s\n", tensor.Kernels())
}
