package main

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/crmops/crmops/internal/display"
	"github.com/crmops/crmops/internal/pager"
)

// terminalStream is a stream that says it is a terminal, and how large:
// the factory's out or err may be one. Tests hand the factory one to run a
// command as on a person's terminal; a real terminal is an *os.File that
// golang.org/x/term recognises.
type terminalStream interface {
	io.Writer
	// TerminalSize returns the terminal's columns and rows (0 when
	// unknown) and whether the stream is a terminal at all.
	TerminalSize() (width, height int, ok bool)
}

// streamTerminal reports whether w is a terminal, and its size.
func streamTerminal(w io.Writer) (width, height int, ok bool) {
	switch s := w.(type) {
	case terminalStream:
		return s.TerminalSize()
	case *os.File:
		fd := int(s.Fd())
		if !term.IsTerminal(fd) {
			return 0, 0, false
		}
		width, height, err := term.GetSize(fd)
		if err != nil {
			return 0, 0, true
		}
		return width, height, true
	}
	return 0, 0, false
}

// stdoutTerminal reports whether stdout is a person's terminal, and its
// size.
func (f *factory) stdoutTerminal() (width, height int, ok bool) { return streamTerminal(f.out) }

// terminal reports whether stderr is a person's terminal (progress bars)
// rather than a log (CI: plain lines).
func (f *factory) terminal() bool {
	_, _, ok := streamTerminal(f.err)
	return ok && f.getenv("CI") == ""
}

// colors is how a command colours what it prints for a person: only on a
// terminal, and not when NO_COLOR is set to anything (https://no-color.org)
// or TERM is dumb.
func (f *factory) colors() display.Colors {
	_, _, ok := f.stdoutTerminal()
	return display.Colorful(ok && f.getenv("NO_COLOR") == "" && f.getenv("TERM") != "dumb")
}

// lookupEnv is getenv that also tells a variable set to "" from an unset
// one (CRMOPS_PAGER="" means no pager): the factory's getenv first, then
// the process' environment for the empty case.
func (f *factory) lookupEnv(key string) (string, bool) {
	if v := f.getenv(key); v != "" {
		return v, true
	}
	_, ok := os.LookupEnv(key)
	return "", ok
}

// paged runs write, which prints for a person, and shows what it printed
// through the pager when stdout is a terminal, the text is longer than
// it, and neither --no-pager nor the environment ($CRMOPS_PAGER, $PAGER
// set to "" or cat) says no. write gets the colours to use. If write
// fails, what it printed is shown directly before the error.
func (f *factory) paged(noPager bool, write func(w io.Writer, c display.Colors) error) error {
	width, height, ok := f.stdoutTerminal()
	c := f.colors()
	if !ok || noPager {
		return write(f.out, c)
	}
	command := pager.Choose(f.lookupEnv)
	if command == "" {
		return write(f.out, c)
	}
	var buf bytes.Buffer
	if err := write(&buf, c); err != nil {
		f.out.Write(buf.Bytes())
		return err
	}
	return pager.Page(buf.Bytes(), pager.Options{Command: command, Width: width, Height: height, Stdout: f.out, Stderr: f.err})
}
