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

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
	"github.com/co2-calculator/co2-calculator/services/platform/csvfile"
	"github.com/co2-calculator/co2-calculator/services/platform/jobqueue"
)

// Upload is what a client says of the file it sends.
type Upload struct {
	LabID    string
	Kind     string
	Year     int32
	Mode     string
	Filename string
	// AllowDuplicate imports a file equal to an earlier import of the same
	// lab, kind and year all the same (ADR 020).
	AllowDuplicate bool
}

// Import modes.
const (
	ModeReplace = "replace"
	ModeAppend  = "append"
)

// Upload stores a file and its job, then queues the job. The header is
// checked as soon as it has arrived and the whole file must be UTF-8;
// anything wrong refuses the upload and leaves nothing stored. If the queue
// cannot be reached the job is stored all the same, and the poller queues
// it.
//
// No transaction is open while the file arrives, however slowly the client
// sends it: the job is NOT_STARTED while its pieces are stored one by one
// and becomes QUEUED when the last has arrived. An upload that fails is
// discarded; one whose process died is removed by the poller once its
// pieces stop coming (UPLOAD_STALLED_AFTER).
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
	if upload.Kind == "" {
		violations.Add("kind", "required: the kind of data in the file (GET /api/v1/templates lists them)")
	}
	if err := violations.Err(); err != nil {
		return Job{}, err
	}
	// Only callers who may import into the lab make ingest look the kind
	// up (and remember it).
	if err := access.Require(labID.String(), authz.Import, apperr.NotFound("no lab has id %s", upload.LabID)); err != nil {
		return Job{}, err
	}
	// A global role reaches every lab id: the lab must exist (and not be
	// being purged), or its data would outlive it.
	exists, err := b.labs.LabExists(ctx, labID)
	if err != nil {
		return Job{}, fmt.Errorf("lab %s: %w", labID, err)
	}
	if !exists {
		return Job{}, apperr.NotFound("no lab has id %s", upload.LabID)
	}
	template, err := b.templates.Template(ctx, upload.Kind)
	if errors.Is(err, ErrUnknownKind) {
		return Job{}, apperr.Invalid("kind", "%s", strings.TrimPrefix(err.Error(), ErrUnknownKind.Error()+": "))
	}
	if err != nil {
		return Job{}, fmt.Errorf("template of %s: %w", upload.Kind, err)
	}

	job := Job{
		ID: uuid.Must(uuid.NewV7()), LabID: labID, Year: upload.Year, Kind: template.Kind, Module: template.Module,
		Mode: upload.Mode, Filename: upload.Filename, MaxAttempts: b.cfg.MaxAttempts, CreatedBy: access.Principal().Subject,
	}
	if err := b.receive(ctx, job, template, file, upload.AllowDuplicate); err != nil {
		return Job{}, err
	}
	if err := b.queue.Enqueue(ctx, job.ID, 0); err != nil {
		b.logger.WarnContext(ctx, "enqueue failed; the poller will queue the job", "job", job.ID, "error", err)
	}
	return b.store.GetJob(ctx, job.ID)
}

// errCancelledUpload is an upload whose job was cancelled while its file
// arrived.
var errCancelledUpload = apperr.FailedPrecondition("the import was cancelled while its file was arriving; nothing was kept")

// receive stores the file piece by piece, checking it on the way, and
// queues the job once the file is whole. The job is created once the
// header has passed (the first piece holds it), so a file refused at once
// leaves no trace at all.
func (b *Business) receive(ctx context.Context, job Job, template Template, file io.Reader, allowDuplicate bool) (err error) {
	created := false
	defer func() {
		if err == nil || !created {
			return
		}
		// The request may be gone already: clean up on a context of our own.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if discardErr := b.store.DiscardUpload(cleanup, job.ID); discardErr != nil {
			b.logger.WarnContext(ctx, "a failed upload could not be discarded; the poller will", "job", job.ID, "error", discardErr)
		}
	}()
	hash := sha256.New()
	check := csvfile.UTF8Check{}
	buffer := make([]byte, b.cfg.ChunkBytes)
	var head []byte // the start of the file, until the header is complete
	var early []storedChunk
	headerChecked := false
	var size int64
	for seq := int32(1); ; seq++ {
		n, readErr := readChunk(file, buffer)
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return fmt.Errorf("read the upload: %w", readErr)
		}
		chunk := buffer[:n]
		size += int64(n)
		if size > b.cfg.MaxUploadBytes {
			return apperr.Invalid("file", "the file is larger than %d bytes, the most an upload may be", b.cfg.MaxUploadBytes)
		}
		if !headerChecked {
			head = append(head, chunk...)
			if bytes.IndexByte(head, '\n') >= 0 || len(head) >= csvfile.MaxHeaderBytes || errors.Is(readErr, io.EOF) {
				if err := checkHeader(head, template); err != nil {
					return err
				}
				headerChecked = true
				head = nil
			}
		}
		if err := check.Write(chunk); err != nil {
			return apperr.Invalid("file", "%v: save the file as CSV UTF-8", err)
		}
		hash.Write(chunk)
		store := func(piece storedChunk) error {
			if err := b.store.AddFileChunk(ctx, job.ID, piece.seq, piece.data); errors.Is(err, ErrNotFound) {
				return errCancelledUpload
			} else if err != nil {
				return err
			}
			return nil
		}
		switch {
		case n > 0 && created:
			if err := store(storedChunk{seq: seq, data: chunk}); err != nil {
				return err
			}
		case n > 0:
			// Pieces that arrive before the header is whole (pieces smaller
			// than the header line) wait for the job: at most
			// MaxHeaderBytes and one piece.
			early = append(early, storedChunk{seq: seq, data: bytes.Clone(chunk)})
		}
		if headerChecked && !created {
			job.TraceParent = jobqueue.TraceParent(ctx)
			if err := b.store.CreateJob(ctx, job); err != nil {
				return err
			}
			created = true
			for _, piece := range early {
				if err := store(piece); err != nil {
					return err
				}
			}
			early = nil
		}
		if errors.Is(readErr, io.EOF) {
			break
		}
	}
	if err := check.End(); err != nil {
		return apperr.Invalid("file", "%v: save the file as CSV UTF-8", err)
	}
	err = b.completeUpload(ctx, job, size, hex.EncodeToString(hash.Sum(nil)), allowDuplicate)
	if errors.Is(err, ErrNotFound) {
		return errCancelledUpload
	}
	return err
}

// storedChunk is a piece of a file and its place in it.
type storedChunk struct {
	seq  int32
	data []byte
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
