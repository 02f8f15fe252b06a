// Command hubcompat checks that goclip's hub package and Python's
// huggingface_hub share one cache: see README.md.
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"

	"github.com/goclip/goclip/hub"
	"github.com/goclip/goclip/hub/hubtest"
)

func main() {
	s := hubtest.New()
	defer s.Close()
	big := make([]byte, 200000)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	s.AddRepo("model", "org/tiny", map[string][]byte{"model.safetensors": big, "config.json": []byte(`{"a":1}`)})
	s.AddRepo("dataset", "org/ds", map[string][]byte{"test/0.tar": big, "classnames.txt": []byte("cat\ndog\n")})
	if len(os.Args) > 2 && os.Args[1] == "read" {
		c := hub.New(&hub.Config{CacheDir: os.Args[2], Endpoint: "http://127.0.0.1:1"})
		for _, r := range []struct {
			repo hub.Repo
			file string
		}{{hub.Repo{ID: "org/tiny"}, "model.safetensors"}, {hub.Repo{ID: "org/tiny"}, "config.json"}, {hub.Repo{ID: "org/ds", Type: hub.Dataset}, "test/0.tar"}} {
			p, err := c.Download(context.Background(), r.repo, r.file)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Println(p)
		}
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "go" {
		c := hub.New(&hub.Config{CacheDir: os.Args[2], Endpoint: s.URL})
		for _, f := range []string{"model.safetensors", "config.json"} {
			p, err := c.Download(context.Background(), hub.Repo{ID: "org/tiny"}, f)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Println(p)
		}
		p, err := c.Download(context.Background(), hub.Repo{ID: "org/ds", Type: hub.Dataset}, "test/0.tar")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(p)
		return
	}
	fmt.Println(s.URL)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt)
	<-ch
}
