// Package pager shows a command's output through the user's pager when it
// is longer than the terminal, the way git and gh do: $CRMOPS_PAGER, then
// $PAGER, then "less -FRX"; set to "" or "cat", no pager. The text is
// written whole first (crmops renders before it prints), so a short text
// goes straight to the terminal and only a long one starts the pager.
//
// The pager runs through the shell ("sh -c", as git runs $GIT_PAGER), so a
// pager setting may hold options and redirections; on Windows it is split
// at spaces. Its environment gets LESS=FRX and LV=-c when they are unset,
// as git sets them: less then passes colours through (-R), exits when the
// text fits (-F) and leaves it on the screen (-X).
package pager

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"

	"github.com/rivo/uniseg"
)

// Default is the pager used when neither CRMOPS_PAGER nor PAGER is set.
const Default = "less -FRX"

// Variables that choose the pager, first set first.
var Variables = []string{"CRMOPS_PAGER", "PAGER"}

// Choose returns the pager command line the environment asks for, or ""
// for none: the first of Variables that is set, even to "" (no pager, as
// git reads PAGER=""), else Default. "cat" means none too: the text is
// written directly.
func Choose(lookup func(string) (string, bool)) string {
	cmd := Default
	for _, v := range Variables {
		if s, ok := lookup(v); ok {
			cmd = s
			break
		}
	}
	cmd = strings.TrimSpace(cmd)
	if cmd == "cat" {
		return ""
	}
	return cmd
}

// Options say where and how to page.
type Options struct {
	// Command is the pager command line (Choose); "" writes directly.
	Command string
	// Width and Height are the terminal's columns and rows; 0 when
	// unknown, and then a text is always paged (less -F still exits at
	// once when it fits).
	Width, Height int
	// Stdout is the terminal; the pager writes to it. Stderr is the
	// pager's standard error.
	Stdout, Stderr io.Writer
	// Env is the pager's environment (Env(os.Environ()) when nil).
	Env []string
}

// Page shows text on o.Stdout: directly when there is no pager or the text
// fits on the terminal, else through the pager, waiting for the person to
// quit it. A pager quit before reading everything is no error. A default
// pager that is not installed is skipped, and so is one the shell cannot
// find or run: the text is written directly. A pager that cannot be
// started at all is an error after the text was written directly.
func Page(text []byte, o Options) error {
	if o.Command == "" || Fits(text, o.Width, o.Height) {
		_, err := o.Stdout.Write(text)
		return err
	}
	argv := commandLine(o.Command)
	if o.Command == Default {
		if _, err := exec.LookPath("less"); err != nil {
			_, err := o.Stdout.Write(text)
			return err
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	cmd.Env = o.Env
	if cmd.Env == nil {
		cmd.Env = Env(os.Environ())
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		in.Close()
		if _, werr := o.Stdout.Write(text); werr != nil {
			return werr
		}
		return err
	}
	_, werr := in.Write(text)
	cerr := in.Close()
	// The pager's own exit status is the person's business (q in less
	// exits 0; an interrupted pager may not): what it showed is shown.
	// Only a pager the shell could not find or run (127, 126) showed
	// nothing, and then the text is written directly after the shell's
	// complaint.
	var exit *exec.ExitError
	if err := cmd.Wait(); errors.As(err, &exit) && (exit.ExitCode() == 127 || exit.ExitCode() == 126) && len(argv) == 3 {
		_, err := o.Stdout.Write(text)
		return err
	}
	if werr != nil && !quit(werr) {
		return werr
	}
	if cerr != nil && !quit(cerr) {
		return cerr
	}
	return nil
}

// quit reports a write error that only says the pager stopped reading.
func quit(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) || errors.Is(err, io.ErrClosedPipe)
}

// commandLine runs command through the shell, as git does, or on Windows
// splits it at spaces.
func commandLine(command string) []string {
	if runtime.GOOS == "windows" {
		return strings.Fields(command)
	}
	return []string{"sh", "-c", command}
}

// Env is environ with LESS=FRX and LV=-c added where unset, as git adds
// them for its pager.
func Env(environ []string) []string {
	out := append([]string(nil), environ...)
	for _, kv := range []string{"LESS=FRX", "LV=-c"} {
		key := kv[:strings.IndexByte(kv, '=')+1]
		found := false
		for _, e := range environ {
			if strings.HasPrefix(e, key) {
				found = true
				break
			}
		}
		if !found {
			out = append(out, kv)
		}
	}
	return out
}

// sgr matches the colour sequences crmops writes (Select Graphic
// Rendition), which take no room on the screen.
var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// Rows is how many terminal rows text takes on a terminal width columns
// wide (0: no wrapping counted): each line at least one row, a long line
// as many as it wraps to, colours taking no room.
func Rows(text []byte, width int) int {
	rows := 0
	for line := range bytes.Lines(text) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		w := uniseg.StringWidth(sgr.ReplaceAllString(string(line), ""))
		if width <= 0 || w <= width {
			rows++
			continue
		}
		rows += (w + width - 1) / width
	}
	return rows
}

// Fits reports whether text fits on a terminal of width and height with a
// row to spare for the shell's prompt; never when height is unknown.
func Fits(text []byte, width, height int) bool {
	return height > 0 && Rows(text, width) < height
}
