package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeFile writes a whole file.
func writeFile(path string, content []byte) error {
	return writeFileFrom(path, func(w io.Writer) error {
		_, err := w.Write(content)
		return err
	})
}

// writeFileFrom writes path from fill through a temporary file beside it,
// renamed once whole: an interrupted download leaves no half file.
func writeFileFrom(path string, fill func(io.Writer) error) error {
	temp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(temp.Name()) // gone after the rename
	if err := fill(temp); err != nil {
		_ = temp.Close()
		return err
	}
	if err := temp.Chmod(0o644); err != nil {
		_ = temp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := temp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(temp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
