package ingestbus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/csvfile"
)

// Upload is what a client says of the file it sends.
type Upload struct {
	LabID    string
	Kind     string
	Year     int32
	Mode     string
	Filename string
}

// Import modes.
const (
	ModeReplace = "replace"
	ModeAppend  = "append"
)

// Upload stores a file and its job in one transaction, then queues the job.
// The header is checked as soon as it has arrived and the whole file must
// be UTF-8; anything wrong refuses the upload with nothing stored. If the
// queue cannot be reached the job is stored all the same, and the poller
// queues it.
func (b *Business) Upload(ctx context.Context, upload Upload, file io.Reader) (Job, error) {
	access, err := b.authz.For(ctx)
	if err != nil {
		return Job{}, err
	}
	var violations apperr.Violations
	labID, err := uuid.Parse(upload.LabID)
	if err != nil {
		violations.Add("lab_id", "%q is not a lab id (a UUID)", upload.LabID)
	}
	if upload.Mode == "" {
		upload.Mode = ModeAppend
	}
	if upload.Mode != ModeReplace && upload.Mode != ModeAppend {
		violations.Add("mode", "%q is not a mode: use replace (the lab/year/kind's earlier CSV rows are replaced) or append", upload.Mode)
	}
	if thisYear := int32(time.Now().Year()); upload.Year < 1990 || upload.Year > thisYear+1 {
		violations.Add("year", "%d is not a reporting year: give one from 1990 to %d", upload.Year, thisYear+1)
	}
	var template Template
	if upload.Kind == "" {
		violations.Add("kind", "required: the kind of data in the file (GET /api/v1/templates lists them)")
	} else if template, err = b.templates.Template(ctx, upload.Kind); errors.Is(err, ErrUnknownKind) {
		violations.Add("kind", "%s", strings.TrimPrefix(err.Error(), ErrUnknownKind.Error()+": "))
	} else if err != nil {
		return Job{}, fmt.Errorf("template of %s: %w", upload.Kind, err)
	}
	if err := violations.Err(); err != nil {
		return Job{}, err
	}
	if err := access.Require(labID.String(), authz.Import, apperr.NotFound("no lab has id %s", upload.LabID)); err != nil {
		return Job{}, err
	}

	job := Job{
		ID: uuid.Must(uuid.NewV7()), LabID: labID, Year: upload.Year, Kind: template.Kind, Module: template.Module,
		Mode: upload.Mode, Filename: upload.Filename, MaxAttempts: b.cfg.MaxAttempts, CreatedBy: access.Principal().Subject,
	}
	err = b.store.InTx(ctx, func(tx Store) error {
		if err := tx.CreateJob(ctx, job); err != nil {
			return err
		}
		size, sum, err := b.storeFile(ctx, tx, job.ID, template, file)
		if err != nil {
			return err
		}
		return tx.QueueUploadedJob(ctx, job.ID, size, sum)
	})
	if err != nil {
		return Job{}, err
	}
	if err := b.queue.Enqueue(ctx, job.ID, 0); err != nil {
		b.logger.WarnContext(ctx, "enqueue failed; the poller will queue the job", "job", job.ID, "error", err)
	}
	return b.store.GetJob(ctx, job.ID)
}

// storeFile writes the file in chunks, checking it on the way.
func (b *Business) storeFile(ctx context.Context, tx Store, jobID uuid.UUID, template Template, file io.Reader) (int64, string, error) {
	hash := sha256.New()
	check := utf8Check{}
	buffer := make([]byte, b.cfg.ChunkBytes)
	var head []byte // the start of the file, until the header is complete
	headerChecked := false
	var size int64
	for seq := int32(1); ; seq++ {
		n, readErr := readChunk(file, buffer)
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return 0, "", fmt.Errorf("read the upload: %w", readErr)
		}
		chunk := buffer[:n]
		size += int64(n)
		if size > b.cfg.MaxUploadBytes {
			return 0, "", apperr.Invalid("file", "the file is larger than %d bytes, the most an upload may be", b.cfg.MaxUploadBytes)
		}
		if !headerChecked {
			head = append(head, chunk...)
			if bytes.IndexByte(head, '\n') >= 0 || len(head) >= csvfile.MaxHeaderBytes || errors.Is(readErr, io.EOF) {
				if err := checkHeader(head, template); err != nil {
					return 0, "", err
				}
				headerChecked = true
				head = nil
			}
		}
		if err := check.write(chunk); err != nil {
			return 0, "", apperr.Invalid("file", "%v: save the file as CSV UTF-8", err)
		}
		hash.Write(chunk)
		if n > 0 {
			if err := tx.AddFileChunk(ctx, jobID, seq, chunk); err != nil {
				return 0, "", err
			}
		}
		if errors.Is(readErr, io.EOF) {
			break
		}
	}
	if err := check.end(); err != nil {
		return 0, "", apperr.Invalid("file", "%v: save the file as CSV UTF-8", err)
	}
	return size, hex.EncodeToString(hash.Sum(nil)), nil
}

func checkHeader(head []byte, template Template) error {
	header, err := csvfile.ParseHeader(head)
	if err != nil {
		return apperr.Invalid("file", "%v", err)
	}
	if missing := header.Missing(template.Required); len(missing) > 0 {
		return apperr.Invalid("file", "the header lacks the required column(s) %s of kind %s (it has %s)",
			strings.Join(missing, ", "), template.Kind, strings.Join(header.Columns, ", "))
	}
	return nil
}

// utf8Check validates a stream of chunks as UTF-8, carrying a rune split
// between two chunks over, and says on which line a bad byte is.
type utf8Check struct {
	pending []byte
	line    int64
}

func (c *utf8Check) write(chunk []byte) error {
	data := chunk
	if len(c.pending) > 0 {
		data = append(c.pending, chunk...)
		c.pending = nil
	}
	// Keep an incomplete rune at the end for the next chunk.
	cut := len(data)
	for back := 1; back <= utf8.UTFMax-1 && back <= len(data); back++ {
		if utf8.RuneStart(data[len(data)-back]) {
			if !utf8.FullRune(data[len(data)-back:]) {
				cut = len(data) - back
			}
			break
		}
	}
	valid := data[:cut]
	if !utf8.Valid(valid) {
		for offset := 0; offset < len(valid); {
			r, width := utf8.DecodeRune(valid[offset:])
			if r == utf8.RuneError && width == 1 {
				return fmt.Errorf("the file is not UTF-8 text (line %d)", c.line+1+int64(bytes.Count(valid[:offset], []byte("\n"))))
			}
			offset += width
		}
	}
	c.line += int64(bytes.Count(valid, []byte("\n")))
	c.pending = append([]byte(nil), data[cut:]...)
	return nil
}

func (c *utf8Check) end() error {
	if len(c.pending) > 0 {
		return fmt.Errorf("the file is not UTF-8 text (it ends inside a character, line %d)", c.line+1)
	}
	return nil
}
