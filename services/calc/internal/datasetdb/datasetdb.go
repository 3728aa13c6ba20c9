// Package datasetdb keeps factor dataset versions in the calc schema: their
// uploaded files, syncs, refused rows and activations.
package datasetdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/calcdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledgerdb"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

// Store implements datasetbus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	queries *calcdb.Queries
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, queries: calcdb.New(pool)}
}

// CreateUpload writes the version row and the file's chunks in one
// transaction.
func (s *Store) CreateUpload(ctx context.Context, version datasetbus.DatasetVersion, write func(store func([]byte) error) (int64, string, error)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		_, err := queries.CreateDatasetVersion(ctx, calcdb.CreateDatasetVersionParams{
			ID: version.ID, Dataset: version.Dataset, Version: version.Version, Description: version.Description, CreatedBy: version.CreatedBy,
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return apperr.AlreadyExists("factor dataset %s already has a version %s: upload under a new version", version.Dataset, version.Version)
		}
		if err != nil {
			return err
		}
		var seq int32
		size, sha, err := write(func(chunk []byte) error {
			seq++
			return queries.InsertFactorUploadChunk(ctx, calcdb.InsertFactorUploadChunkParams{VersionID: version.ID, Seq: seq, Data: chunk})
		})
		if err != nil {
			return err
		}
		if err := queries.RecordFactorUpload(ctx, calcdb.RecordFactorUploadParams{ID: version.ID, FileSha256: sha, FileBytes: size}); err != nil {
			return err
		}
		return ledgerdb.Record(ctx, tx, datasetbus.UploadEvent(version, size, sha))
	})
}

func (s *Store) SyncVersion(ctx context.Context, id uuid.UUID, load func(datasetbus.DatasetVersion, []byte) (datasetbus.DatasetVersion, []factors.Factor, []datasetbus.RowError)) (bool, error) {
	found := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		row, err := queries.ClaimDatasetVersion(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		chunks, err := queries.ListFactorUploadChunks(ctx, id)
		if err != nil {
			return err
		}
		var file []byte
		for _, chunk := range chunks {
			file = append(file, chunk...)
		}
		version, all, rowErrors := load(toDatasetVersion(row), file)
		for _, f := range all {
			if err := queries.UpsertFactor(ctx, calcdb.UpsertFactorParams{
				Dataset: f.Dataset, Version: f.Version, Kind: f.Kind, EmissionType: f.EmissionType, Classification: f.Classification,
				Region: f.Region, Year: f.Year, Value: f.Value, Unit: f.Unit, Source: f.Source, Licence: f.Licence,
				GwpSet: f.GWPSet, Boundary: f.Boundary, RadiativeForcing: f.RadiativeForcing, UncertaintyPct: f.UncertaintyPct,
			}); err != nil {
				return fmt.Errorf("factor %s/%s/%s/%s/%d: %w", f.Kind, f.EmissionType, f.Classification, f.Region, f.Year, err)
			}
		}
		for _, e := range rowErrors {
			if err := queries.InsertFactorSyncError(ctx, calcdb.InsertFactorSyncErrorParams{VersionID: id, Line: e.Row, Column: e.Column, Message: e.Message}); err != nil {
				return err
			}
		}
		if err := queries.DeleteFactorUploadChunks(ctx, id); err != nil {
			return err
		}
		return queries.FinishDatasetVersion(ctx, calcdb.FinishDatasetVersionParams{
			ID: id, State: version.State, Message: version.Message, RowsTotal: version.RowsTotal, RowsRejected: version.RowsRejected,
		})
	})
	return found, err
}

func (s *Store) Activate(ctx context.Context, activations []datasetbus.Activation, force bool) ([]recalcbus.Target, []datasetbus.SkippedYear, error) {
	var targets []recalcbus.Target
	var skipped []datasetbus.SkippedYear
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		if err := queries.LockActivations(ctx); err != nil {
			return err
		}
		current, err := queries.ListActivations(ctx)
		if err != nil {
			return err
		}
		years := make([]int32, len(activations))
		for i, a := range activations {
			years[i] = a.Year
		}
		closedRows, err := queries.ClosedYearsWithData(ctx, years)
		if err != nil {
			return err
		}
		closed := make([]datasetbus.SkippedYear, len(closedRows))
		for i, row := range closedRows {
			closed[i] = datasetbus.SkippedYear{LabID: row.LabID, Year: row.Year}
		}
		if !force {
			skipped = closed
		}
		for _, a := range activations {
			var before *datasetbus.Activation
			for _, row := range current { // newest first: the first of the year is in force
				if row.Year == a.Year {
					found := toActivation(row)
					before = &found
					break
				}
			}
			if err := ledgerdb.Record(ctx, tx, datasetbus.ActivationEvent(before, a, force, closed)); err != nil {
				return err
			}
			if _, err := queries.InsertActivation(ctx, calcdb.InsertActivationParams{Year: a.Year, Dataset: a.Dataset, Version: a.Version, ActivatedBy: a.ActivatedBy}); err != nil {
				return err
			}
		}
		rows, err := queries.RequestRecalculations(ctx, calcdb.RequestRecalculationsParams{Years: years, Force: force})
		targets = make([]recalcbus.Target, len(rows))
		for i, row := range rows {
			targets[i] = recalcbus.Target{LabID: row.LabID, Year: row.Year, Kind: row.Kind}
		}
		return err
	})
	return targets, skipped, err
}

func (s *Store) QueuedSyncs(ctx context.Context, batch int32) ([]uuid.UUID, error) {
	return s.queries.ListQueuedDatasetVersions(ctx, batch)
}

func (s *Store) ListDatasetVersions(ctx context.Context) ([]datasetbus.DatasetVersion, error) {
	rows, err := s.queries.ListDatasetVersions(ctx)
	versions := make([]datasetbus.DatasetVersion, len(rows))
	for i, row := range rows {
		versions[i] = toDatasetVersion(calcdb.CalcFactorDatasetVersion{
			ID: row.ID, Dataset: row.Dataset, Version: row.Version, Description: row.Description, CreatedBy: row.CreatedBy,
			CreatedAt: row.CreatedAt, State: row.State, Message: row.Message, RowsTotal: row.RowsTotal,
			RowsRejected: row.RowsRejected, FileSha256: row.FileSha256, FileBytes: row.FileBytes, FinishedAt: row.FinishedAt,
		})
		versions[i].Factors, versions[i].FirstYear, versions[i].LastYear, versions[i].Licences = row.Factors, row.FirstYear, row.LastYear, row.Licences
	}
	return versions, err
}

func (s *Store) GetDatasetVersion(ctx context.Context, dataset, version string) (datasetbus.DatasetVersion, error) {
	row, err := s.queries.GetDatasetVersion(ctx, calcdb.GetDatasetVersionParams{Dataset: dataset, Version: version})
	if errors.Is(err, pgx.ErrNoRows) {
		return datasetbus.DatasetVersion{}, datasetbus.ErrNotFound
	}
	if err != nil {
		return datasetbus.DatasetVersion{}, err
	}
	found := toDatasetVersion(row)
	all, err := s.queries.ListFactors(ctx, calcdb.ListFactorsParams{Dataset: dataset, Version: version})
	if err != nil {
		return datasetbus.DatasetVersion{}, err
	}
	found.Factors = int64(len(all))
	licences := map[string]bool{}
	for i, f := range all {
		if i == 0 || f.Year < found.FirstYear {
			found.FirstYear = f.Year
		}
		found.LastYear = max(found.LastYear, f.Year)
		if !licences[f.Licence] {
			licences[f.Licence] = true
			found.Licences = append(found.Licences, f.Licence)
		}
	}
	rowErrors, err := s.queries.ListFactorSyncErrors(ctx, row.ID)
	for _, e := range rowErrors {
		found.Errors = append(found.Errors, datasetbus.RowError{Row: e.Line, Column: e.Column, Message: e.Message})
	}
	return found, err
}

func toDatasetVersion(row calcdb.CalcFactorDatasetVersion) datasetbus.DatasetVersion {
	return datasetbus.DatasetVersion{
		ID: row.ID, Dataset: row.Dataset, Version: row.Version, Description: row.Description, CreatedBy: row.CreatedBy,
		CreatedAt: row.CreatedAt, State: row.State, Message: row.Message, RowsTotal: row.RowsTotal,
		RowsRejected: row.RowsRejected, FileSHA256: row.FileSha256,
	}
}

func (s *Store) ListActivations(ctx context.Context) ([]datasetbus.Activation, error) {
	rows, err := s.queries.ListActivations(ctx)
	activations := make([]datasetbus.Activation, len(rows))
	for i, row := range rows {
		activations[i] = toActivation(row)
	}
	return activations, err
}

func toActivation(row calcdb.CalcFactorActivation) datasetbus.Activation {
	return datasetbus.Activation{Year: row.Year, Dataset: row.Dataset, Version: row.Version, ActivatedBy: row.ActivatedBy, ActivatedAt: row.ActivatedAt}
}
