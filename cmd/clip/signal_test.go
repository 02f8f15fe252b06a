package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelperProcessMain runs main() when started by runClipProcess (the
// test binary re-executed with GOCLIP_HELPER_MAIN=1); otherwise it does
// nothing.
func TestHelperProcessMain(t *testing.T) {
	if os.Getenv("GOCLIP_HELPER_MAIN") != "1" {
		return
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			os.Args = append([]string{"clip"}, args[i+1:]...)
			break
		}
	}
	main()
	os.Exit(0)
}

// startClipProcess starts `clip args...` as a child process (this test
// binary running main), with stdin left open and never written.
func startClipProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestHelperProcessMain$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "GOCLIP_HELPER_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
	})
	return cmd, &stderr, stdin
}

func waitExit(cmd *exec.Cmd, d time.Duration) (int, bool) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), true
		}
		return 0, err == nil
	case <-time.After(d):
		return 0, false
	}
}

// TestSecondInterruptExits: `clip tokenize` blocked reading a standard
// input that never ends cannot notice a cancelled context. The first
// Ctrl-C asks it to stop; the second must end the process at once (exit
// status 130). With signal.NotifyContext both interrupts were swallowed
// and the process ran until killed.
func TestSecondInterruptExits(t *testing.T) {
	cmd, stderr, _ := startClipProcess(t, "tokenize")
	time.Sleep(500 * time.Millisecond) // let it block in the read
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// The exit is immediate; the bound only has to tell "exits" from
	// "runs until killed" on a CI machine whose two cores are busy with
	// the other packages' tests (5 s was once exceeded at load 12).
	code, exited := waitExit(cmd, 20*time.Second)
	if !exited {
		t.Fatalf("still running 20 s after the second SIGINT; stderr: %s", stderr)
	}
	if code != interruptExitCode {
		t.Errorf("exit status %d, want %d; stderr: %s", code, interruptExitCode, stderr)
	}
	if !strings.Contains(stderr.String(), "again") {
		t.Errorf("stderr does not explain the first interrupt: %q", stderr)
	}
}
