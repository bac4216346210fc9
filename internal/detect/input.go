package detect

import (
	"errors"
	"io/fs"
	"os"

	"github.com/crmops/crmops/internal/strictyaml"
)

// OpenInput opens a detector's input file, input as its settings name it
// (relative to the repository root). An error names the crmops.yaml line
// and key the path came from (key, in the mapping at pos), so a missing
// file is found where it was configured.
func (e Env) OpenInput(file string, pos strictyaml.Pos, key, input string) (*os.File, error) {
	f, err := os.Open(e.Path(input))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, pos.Errorf(file, key, "%s: %v", input, err)
	}
	return f, nil
}
