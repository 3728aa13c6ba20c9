package calcbus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"

	"github.com/google/uuid"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
	"github.com/co2-calculator/co2-calculator/services/platform/authz"
)

// Sync job states of a dataset version.
const (
	SyncQueued   = "QUEUED"
	SyncRunning  = "RUNNING"
	SyncFinished = "FINISHED"
	SyncFailed   = "FAILED"
)

// DatasetStore keeps dataset versions, their uploads and activations.
type DatasetStore interface {
	// CreateUpload stores a new version (QUEUED) and its file in one
	// transaction: write receives the function that stores a chunk, and
	// returns the file's size and SHA-256. AlreadyExists when the version
	// exists.
	CreateUpload(ctx context.Context, version DatasetVersion, write func(store func([]byte) error) (int64, string, error)) error
	// SyncVersion runs a QUEUED version's sync in one transaction that
	// holds the version: load gets the version and its file and returns the
	// outcome, its factors and refused rows, which are written and the file
	// dropped. A worker that dies leaves the version QUEUED (nothing
	// written); a second task for it waits, then finds it synced (found is
	// false).
	SyncVersion(ctx context.Context, id uuid.UUID, load func(version DatasetVersion, file []byte) (DatasetVersion, []factors.Factor, []RowError)) (found bool, err error)
	// Activate records the activations and asks a recalculation of every
	// lab/year/kind with activities in their years, in one transaction.
	Activate(ctx context.Context, activations []Activation) ([]recalcbus.Target, error)
	// QueuedSyncs lists the (at most batch) versions whose sync job has not
	// started, the oldest first.
	QueuedSyncs(ctx context.Context, batch int32) ([]uuid.UUID, error)
}

// Activation makes a dataset version the one that computes a year.
type Activation struct {
	Year        int32
	Dataset     string
	Version     string
	ActivatedBy string
	ActivatedAt time.Time
}

// DatasetsConfig tunes factor dataset uploads.
type DatasetsConfig struct {
	// MaxUploadBytes bounds an uploaded factor file.
	MaxUploadBytes int64 `env:"FACTOR_UPLOAD_MAX_BYTES, default=67108864"`
}

// Datasets uploads, syncs and activates factor dataset versions.
type Datasets struct {
	logger  *slog.Logger
	store   DatasetStore
	queries FactorStore
	authz   *authz.Authorizer
	queue   Queue
	asks    *recalcbus.Asks
	cfg     DatasetsConfig
}

// Queue wakes calc workers up for a dataset version's sync.
type Queue interface {
	EnqueueFactorsSync(ctx context.Context, versionID uuid.UUID) error
}

// NewDatasets returns the factor dataset administration.
func NewDatasets(logger *slog.Logger, store DatasetStore, queries FactorStore, authorizer *authz.Authorizer, queue Queue, asks *recalcbus.Asks, cfg DatasetsConfig) *Datasets {
	return &Datasets{logger: logger, store: store, queries: queries, authz: authorizer, queue: queue, asks: asks, cfg: cfg}
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (d *Datasets) requireAdmin(ctx context.Context) (*authz.Access, error) {
	access, err := d.authz.For(ctx)
	if err != nil {
		return nil, err
	}
	if !access.CanEverywhere(authz.Administer) {
		return nil, apperr.PermissionDenied("factor datasets are changed by admins only")
	}
	return access, nil
}

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

// Sync loads a queued version's file into its factors. A file with any
// refused row loads nothing: the version FAILS with the rows' line, column
// and reason, and a corrected file is uploaded as a new version.
func (d *Datasets) Sync(ctx context.Context, versionID uuid.UUID) error {
	var version DatasetVersion
	var rejected int
	found, err := d.store.SyncVersion(ctx, versionID, func(queued DatasetVersion, file []byte) (DatasetVersion, []factors.Factor, []RowError) {
		version = queued
		all, rowErrors, total, err := parseDataset(file, version)
		version.RowsTotal = total
		version.RowsRejected = int64(len(rowErrors))
		rejected = len(rowErrors)
		switch {
		case err != nil:
			version.State, version.Message = SyncFailed, err.Error()
			all = nil
		case len(rowErrors) > 0:
			version.State = SyncFailed
			version.Message = fmt.Sprintf("%d of %d rows refused; nothing loaded: see the errors and upload a corrected file as a new version", len(rowErrors), total)
			all = nil
		case total == 0:
			version.State, version.Message = SyncFailed, "the file has no factor rows"
		default:
			version.State, version.Message = SyncFinished, fmt.Sprintf("%d factors loaded", len(all))
		}
		return version, all, rowErrors
	})
	if err != nil {
		return fmt.Errorf("factor sync %s: %w", versionID, err)
	}
	if !found {
		return nil
	}
	d.logger.InfoContext(ctx, "factor dataset synced", "dataset", version.Dataset, "version", version.Version,
		"state", version.State, "rows", version.RowsTotal, "rejected", rejected)
	return nil
}

// parseDataset reads every row, keeping each refused one's line, column
// and reason (the first 1000).
func parseDataset(file []byte, version DatasetVersion) ([]factors.Factor, []RowError, int64, error) {
	reader := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(file, []byte("\ufeff"))))
	reader.FieldsPerRecord = -1
	header := factors.Header()
	if _, err := reader.Read(); err != nil {
		return nil, nil, 0, fmt.Errorf("the header cannot be read: %w", err)
	}
	var all []factors.Factor
	var rowErrors []RowError
	var total int64
	for {
		record, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return all, rowErrors, total, nil
		}
		total++
		line, _ := reader.FieldPos(0)
		if err != nil {
			var parseErr *csv.ParseError
			if errors.As(err, &parseErr) {
				line = parseErr.StartLine
			}
			rowErrors = appendRowError(rowErrors, int64(line), "", err.Error())
			continue
		}
		if len(record) != len(header) {
			rowErrors = appendRowError(rowErrors, int64(line), "", fmt.Sprintf("%d fields, want %d (%s)", len(record), len(header), strings.Join(header, ",")))
			continue
		}
		factor, problems := parseFactor(record, version)
		for _, problem := range problems {
			rowErrors = appendRowError(rowErrors, int64(line), problem.Column, problem.Message)
		}
		if len(problems) == 0 {
			all = append(all, factor)
		}
	}
}

func appendRowError(rowErrors []RowError, line int64, column, message string) []RowError {
	if len(rowErrors) >= 1000 {
		return rowErrors
	}
	return append(rowErrors, RowError{Row: line, Column: column, Message: message})
}

var regionPattern = regexp.MustCompile(`^[A-Z]{2}$`)

var boundaries = []string{"combustion", "well_to_tank", "life_cycle"}

// parseFactor checks one row's every column.
func parseFactor(record []string, version DatasetVersion) (factors.Factor, []RowError) {
	var problems []RowError
	bad := func(column, format string, args ...any) {
		problems = append(problems, RowError{Column: column, Message: fmt.Sprintf(format, args...)})
	}
	field := func(i int) string { return strings.TrimSpace(record[i]) }
	f := factors.Factor{
		Dataset: field(0), Version: field(1), Kind: strings.ToLower(field(2)), EmissionType: strings.ToLower(field(3)),
		Classification: strings.ToLower(field(4)), Region: strings.ToUpper(field(5)), Unit: field(8), Source: field(9),
		Licence: field(10), GWPSet: field(11), Boundary: strings.ToLower(field(12)),
	}
	if f.Dataset != version.Dataset {
		bad("dataset", "%q: every row names the uploaded dataset %q", f.Dataset, version.Dataset)
	}
	if f.Version != version.Version {
		bad("version", "%q: every row names the uploaded version %q", f.Version, version.Version)
	}
	for _, required := range []struct{ column, value string }{{"kind", f.Kind}, {"emission_type", f.EmissionType}, {"unit", f.Unit}, {"source", f.Source}, {"licence", f.Licence}} {
		if required.value == "" {
			bad(required.column, "required")
		}
	}
	if f.Region != "" && !regionPattern.MatchString(f.Region) {
		bad("region", "%q is not an ISO 3166-1 alpha-2 country (or empty for anywhere)", field(5))
	}
	year, err := strconv.Atoi(field(6))
	if err != nil || year < 1900 || year > 2200 {
		bad("year", "%q is not a year", field(6))
	}
	f.Year = int32(year)
	if f.Value, err = strconv.ParseFloat(field(7), 64); err != nil || f.Value < 0 {
		bad("value", "%q is not a number ≥ 0 (kg CO2e per unit)", field(7))
	}
	if f.GWPSet == "" {
		f.GWPSet = "AR6"
	}
	if f.Boundary == "" {
		f.Boundary = "combustion"
	} else if !slices.Contains(boundaries, f.Boundary) {
		bad("boundary", "%q: one of %s", field(12), strings.Join(boundaries, ", "))
	}
	switch strings.ToLower(field(13)) {
	case "":
	case "true":
		rf := true
		f.RadiativeForcing = &rf
	case "false":
		rf := false
		f.RadiativeForcing = &rf
	default:
		bad("radiative_forcing", "%q: true, false or empty", field(13))
	}
	if field(14) != "" {
		if f.UncertaintyPct, err = strconv.ParseFloat(field(14), 64); err != nil || f.UncertaintyPct < 0 {
			bad("uncertainty_pct", "%q is not a percentage ≥ 0", field(14))
		}
	}
	return f, problems
}

// Activate makes a finished version compute years, and queues the
// recalculation of every lab/year/kind with activities in them.
func (d *Datasets) Activate(ctx context.Context, dataset, version string, years []int32) ([]Activation, int, error) {
	access, err := d.requireAdmin(ctx)
	if err != nil {
		return nil, 0, err
	}
	found, err := d.queries.GetDatasetVersion(ctx, dataset, version)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, apperr.NotFound("no factor dataset %s has a version %s", dataset, version)
	}
	if err != nil {
		return nil, 0, err
	}
	if found.State != SyncFinished {
		return nil, 0, apperr.FailedPrecondition("version %s %s is %s: only a FINISHED version can be activated", dataset, version, found.State)
	}
	if len(years) == 0 {
		return nil, 0, apperr.Invalid("years", "give the years it computes, as {\"years\":[2025]}")
	}
	thisYear := int32(time.Now().Year())
	var activations []Activation
	seen := map[int32]bool{}
	for _, year := range years {
		if year < 1990 || year > thisYear+1 {
			return nil, 0, apperr.Invalid("years", "%d is not a reporting year: give ones from 1990 to %d", year, thisYear+1)
		}
		if !seen[year] {
			seen[year] = true
			activations = append(activations, Activation{Year: year, Dataset: dataset, Version: version, ActivatedBy: access.Principal().Subject, ActivatedAt: time.Now()})
		}
	}
	targets, err := d.store.Activate(ctx, activations)
	if err != nil {
		return nil, 0, err
	}
	d.logger.InfoContext(ctx, "factor dataset activated", "dataset", dataset, "version", version, "years", years, "recalculations", len(targets))
	d.asks.Queue(ctx, targets)
	return activations, len(targets), nil
}

// Resume queues what a stopped installation (or a Redis that lost its
// queue) left of the factor work: sync jobs not started, then
// recalculations asked and not done, at most batch of each, the oldest
// first (the next look takes the next ones once these are done). A task
// still waiting is left alone.
func (d *Datasets) Resume(ctx context.Context, batch int32) error {
	versions, err := d.store.QueuedSyncs(ctx, batch)
	if err != nil {
		return err
	}
	for _, id := range versions {
		if err := d.queue.EnqueueFactorsSync(ctx, id); err != nil {
			return err
		}
	}
	return d.asks.Resume(ctx, batch)
}
