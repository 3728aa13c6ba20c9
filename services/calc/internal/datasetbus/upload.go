package datasetbus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// uploadChunkBytes bounds the pieces a file is stored in (each is what one
// read returns: a message of the upload stream).
const uploadChunkBytes = 1 << 20

// Upload stores a dataset version's file and queues its sync job. A header
// other than the bundled file's is refused, nothing stored.
func (d *Datasets) Upload(ctx context.Context, dataset, version, description string, file io.Reader) (DatasetVersion, error) {
	access, err := d.requireAdmin(ctx)
	if err != nil {
		return DatasetVersion{}, err
	}
	var violations apperr.Violations
	if !namePattern.MatchString(dataset) {
		violations.Add("dataset", "%q: give the dataset's name as ?dataset=NAME (letters, digits, . _ -, at most 64)", dataset)
	}
	if !namePattern.MatchString(version) {
		violations.Add("version", "%q: give the version as ?version=V (letters, digits, . _ -, at most 64)", version)
	}
	if err := violations.Err(); err != nil {
		return DatasetVersion{}, err
	}
	created := DatasetVersion{
		ID: uuid.Must(uuid.NewV7()), Dataset: dataset, Version: version, Description: description,
		CreatedBy: access.Principal().Subject, CreatedAt: time.Now(), State: SyncQueued,
	}
	err = d.store.CreateUpload(ctx, created, func(store func([]byte) error) (int64, string, error) {
		hash := sha256.New()
		var size int64
		var head []byte
		headerChecked := false
		buffer := make([]byte, uploadChunkBytes)
		for {
			n, readErr := file.Read(buffer)
			if n > 0 {
				chunk := buffer[:n]
				size += int64(n)
				if size > d.cfg.MaxUploadBytes {
					return 0, "", apperr.Invalid("file", "the file is larger than %d bytes", d.cfg.MaxUploadBytes)
				}
				if !headerChecked {
					head = append(head, chunk...)
					if end := bytes.IndexByte(head, '\n'); end >= 0 {
						if err := checkHeader(head[:end]); err != nil {
							return 0, "", err
						}
						headerChecked = true
					} else if len(head) > 64*1024 {
						return 0, "", apperr.Invalid("file", "the first line is longer than 64 KiB: it is not a factor dataset header")
					}
				}
				hash.Write(chunk)
				if err := store(slices.Clone(chunk)); err != nil {
					return 0, "", err
				}
			}
			if errors.Is(readErr, io.EOF) {
				break
			}
			if readErr != nil {
				return 0, "", readErr
			}
		}
		if !headerChecked {
			if err := checkHeader(head); err != nil {
				return 0, "", err
			}
		}
		return size, hex.EncodeToString(hash.Sum(nil)), nil
	})
	if err != nil {
		return DatasetVersion{}, err
	}
	if err := d.queue.EnqueueFactorsSync(ctx, created.ID); err != nil {
		// The version stays queued; the worker's start looks for it again.
		d.logger.WarnContext(ctx, "factor sync not queued", "version", created.ID, "error", err)
	}
	return created, nil
}

// checkHeader refuses a first line that is not the bundled file's header.
func checkHeader(line []byte) error {
	line = bytes.TrimPrefix(bytes.TrimRight(line, "\r\n"), []byte("\ufeff"))
	want := factors.Header()
	if len(bytes.TrimSpace(line)) == 0 {
		return apperr.Invalid("file", "the file is empty: its first line must be the header %s", strings.Join(want, ","))
	}
	got, err := csv.NewReader(bytes.NewReader(line)).Read()
	if err != nil {
		return apperr.Invalid("file", "the header cannot be read: %v", err)
	}
	for i := range got {
		got[i] = strings.ToLower(strings.TrimSpace(got[i]))
	}
	if slices.Equal(got, want) {
		return nil
	}
	var problems []string
	for _, column := range want {
		if !slices.Contains(got, column) {
			problems = append(problems, "missing "+column)
		}
	}
	for _, column := range got {
		if !slices.Contains(want, column) {
			problems = append(problems, fmt.Sprintf("unknown %q", column))
		}
	}
	if len(problems) == 0 {
		problems = append(problems, "columns out of order")
	}
	return apperr.Invalid("file", "the header is not a factor dataset's (%s): it must be exactly %s",
		strings.Join(problems, ", "), strings.Join(want, ","))
}
