//go:build !unix

package audit

import "os"

// readInto reads the file at path; buf is only a hint elsewhere than unix.
func readInto(path string, buf []byte) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return buf[:0], err
	}
	return data, nil
}
