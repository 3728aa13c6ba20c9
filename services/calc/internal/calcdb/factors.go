package calcdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/co2-calculator/co2-calculator/services/calc/internal/datasetbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factorbus"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/factors"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/kinds"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/ledger"
	"github.com/co2-calculator/co2-calculator/services/calc/internal/recalcbus"
	"github.com/co2-calculator/co2-calculator/services/platform/apperr"
)

func (s *Store) SearchFactors(ctx context.Context, filter factorbus.Filter, after *uuid.UUID, limit int32) ([]factors.Factor, error) {
	rows, err := s.queries.SearchFactors(ctx, SearchFactorsParams{
		Dataset: filter.Dataset, Version: filter.Version, Kind: filter.Kind, EmissionType: filter.EmissionType,
		Classification: filter.Classification, Region: filter.Region, Year: filter.Year, AfterID: after, PageLimit: limit,
	})
	all := make([]factors.Factor, len(rows))
	for i, row := range rows {
		all[i] = toFactor(row)
	}
	return all, err
}

func (s *Store) ListDatasetVersions(ctx context.Context) ([]datasetbus.DatasetVersion, error) {
	rows, err := s.queries.ListDatasetVersions(ctx)
	versions := make([]datasetbus.DatasetVersion, len(rows))
	for i, row := range rows {
		versions[i] = toDatasetVersion(CalcFactorDatasetVersion{
			ID: row.ID, Dataset: row.Dataset, Version: row.Version, Description: row.Description, CreatedBy: row.CreatedBy,
			CreatedAt: row.CreatedAt, State: row.State, Message: row.Message, RowsTotal: row.RowsTotal,
			RowsRejected: row.RowsRejected, FileSha256: row.FileSha256, FileBytes: row.FileBytes, FinishedAt: row.FinishedAt,
		})
		versions[i].Factors, versions[i].FirstYear, versions[i].LastYear, versions[i].Licences = row.Factors, row.FirstYear, row.LastYear, row.Licences
	}
	return versions, err
}

func (s *Store) GetDatasetVersion(ctx context.Context, dataset, version string) (datasetbus.DatasetVersion, error) {
	row, err := s.queries.GetDatasetVersion(ctx, GetDatasetVersionParams{Dataset: dataset, Version: version})
	if errors.Is(err, pgx.ErrNoRows) {
		return datasetbus.DatasetVersion{}, datasetbus.ErrNotFound
	}
	if err != nil {
		return datasetbus.DatasetVersion{}, err
	}
	found := toDatasetVersion(row)
	all, err := s.queries.ListFactors(ctx, ListFactorsParams{Dataset: dataset, Version: version})
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

func toDatasetVersion(row CalcFactorDatasetVersion) datasetbus.DatasetVersion {
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

func toActivation(row CalcFactorActivation) datasetbus.Activation {
	return datasetbus.Activation{Year: row.Year, Dataset: row.Dataset, Version: row.Version, ActivatedBy: row.ActivatedBy, ActivatedAt: row.ActivatedAt}
}

func (s *Store) ActiveVersion(ctx context.Context, year int32) (factors.VersionRef, bool, error) {
	return activeVersion(ctx, s.queries, year)
}

func activeVersion(ctx context.Context, queries *Queries, year int32) (factors.VersionRef, bool, error) {
	row, err := queries.ActiveVersionOf(ctx, year)
	if errors.Is(err, pgx.ErrNoRows) {
		return factors.VersionRef{}, false, nil
	}
	if err != nil {
		return factors.VersionRef{}, false, err
	}
	return factors.VersionRef{Dataset: row.Dataset, Version: row.Version}, true, nil
}

func (s *Store) ListRecalculations(ctx context.Context, labID uuid.UUID, year int32) ([]recalcbus.Recalculation, error) {
	rows, err := s.queries.ListRecalculations(ctx, ListRecalculationsParams{LabID: labID, Year: year})
	all := make([]recalcbus.Recalculation, len(rows))
	for i, row := range rows {
		all[i] = recalcbus.Recalculation{
			ID: row.ID, Target: recalcbus.Target{LabID: row.LabID, Year: row.Year, Kind: row.Kind},
			FromVersions: row.FromVersions, To: factors.VersionRef{Dataset: row.ToDataset, Version: row.ToVersion},
			Activities: row.Activities, KgBefore: row.KgBefore, KgAfter: row.KgAfter, State: row.State, Message: row.Message,
			StartedAt: row.StartedAt, FinishedAt: row.FinishedAt,
		}
	}
	return all, err
}

func (s *Store) ActivityLab(ctx context.Context, activityID uuid.UUID) (uuid.UUID, error) {
	row, err := s.queries.GetActivity(ctx, activityID)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.UUID{}, recalcbus.ErrNotFound
	}
	return row.LabID, err
}

func (s *Store) ListSupersededEmissions(ctx context.Context, activityID uuid.UUID) ([]recalcbus.SupersededEmission, error) {
	rows, err := s.queries.ListSupersededEmissions(ctx, activityID)
	all := make([]recalcbus.SupersededEmission, len(rows))
	for i, e := range rows {
		var factorID uuid.UUID
		if e.FactorID != nil {
			factorID = *e.FactorID
		}
		all[i] = recalcbus.SupersededEmission{RecalculationID: e.RecalculationID, SupersededAt: e.SupersededAt, Emission: ledger.Emission{
			ActivityID: e.ActivityID, Variant: e.Variant, LabID: e.LabID, Year: e.Year, Module: e.Module,
			EmissionType: e.EmissionType, Scope: e.Scope, Quantity: e.Quantity, QuantityUnit: e.QuantityUnit,
			KgCO2e: e.KgCo2e, FactorID: factorID, FactorDataset: e.FactorDataset, FactorVersion: e.FactorVersion,
			UncertaintyPct: e.UncertaintyPct, Overridden: e.Overridden, Fallback: e.Fallback,
		}}
	}
	return all, err
}

// CreateUpload writes the version row and the file's chunks in one
// transaction.
func (s *Store) CreateUpload(ctx context.Context, version datasetbus.DatasetVersion, write func(store func([]byte) error) (int64, string, error)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		_, err := queries.CreateDatasetVersion(ctx, CreateDatasetVersionParams{
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
			return queries.InsertFactorUploadChunk(ctx, InsertFactorUploadChunkParams{VersionID: version.ID, Seq: seq, Data: chunk})
		})
		if err != nil {
			return err
		}
		return queries.RecordFactorUpload(ctx, RecordFactorUploadParams{ID: version.ID, FileSha256: sha, FileBytes: size})
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
			if err := queries.UpsertFactor(ctx, UpsertFactorParams{
				Dataset: f.Dataset, Version: f.Version, Kind: f.Kind, EmissionType: f.EmissionType, Classification: f.Classification,
				Region: f.Region, Year: f.Year, Value: f.Value, Unit: f.Unit, Source: f.Source, Licence: f.Licence,
				GwpSet: f.GWPSet, Boundary: f.Boundary, RadiativeForcing: f.RadiativeForcing, UncertaintyPct: f.UncertaintyPct,
			}); err != nil {
				return fmt.Errorf("factor %s/%s/%s/%s/%d: %w", f.Kind, f.EmissionType, f.Classification, f.Region, f.Year, err)
			}
		}
		for _, e := range rowErrors {
			if err := queries.InsertFactorSyncError(ctx, InsertFactorSyncErrorParams{VersionID: id, Line: e.Row, Column: e.Column, Message: e.Message}); err != nil {
				return err
			}
		}
		if err := queries.DeleteFactorUploadChunks(ctx, id); err != nil {
			return err
		}
		return queries.FinishDatasetVersion(ctx, FinishDatasetVersionParams{
			ID: id, State: version.State, Message: version.Message, RowsTotal: version.RowsTotal, RowsRejected: version.RowsRejected,
		})
	})
	return found, err
}

func (s *Store) Activate(ctx context.Context, activations []datasetbus.Activation) ([]recalcbus.Target, error) {
	var targets []recalcbus.Target
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		queries := s.queries.WithTx(tx)
		if err := queries.LockActivations(ctx); err != nil {
			return err
		}
		years := make([]int32, len(activations))
		for i, a := range activations {
			years[i] = a.Year
			if _, err := queries.InsertActivation(ctx, InsertActivationParams{Year: a.Year, Dataset: a.Dataset, Version: a.Version, ActivatedBy: a.ActivatedBy}); err != nil {
				return err
			}
		}
		rows, err := queries.RequestRecalculations(ctx, years)
		targets = make([]recalcbus.Target, len(rows))
		for i, row := range rows {
			targets[i] = recalcbus.Target{LabID: row.LabID, Year: row.Year, Kind: row.Kind}
		}
		return err
	})
	return targets, err
}

func (s *Store) PendingRecalculations(ctx context.Context, batch int32) ([]recalcbus.Target, error) {
	rows, err := s.queries.ListPendingRecalcRequests(ctx, batch)
	targets := make([]recalcbus.Target, len(rows))
	for i, row := range rows {
		targets[i] = recalcbus.Target{LabID: row.LabID, Year: row.Year, Kind: row.Kind}
	}
	return targets, err
}

func (s *Store) QueuedSyncs(ctx context.Context, batch int32) ([]uuid.UUID, error) {
	return s.queries.ListQueuedDatasetVersions(ctx, batch)
}

func (s *Store) RecalcRequest(ctx context.Context, target recalcbus.Target) (int64, int64, error) {
	return recalcRequest(ctx, s.queries, target)
}

func recalcRequest(ctx context.Context, queries *Queries, target recalcbus.Target) (int64, int64, error) {
	row, err := queries.GetRecalcRequest(ctx, GetRecalcRequestParams{LabID: target.LabID, Year: target.Year, Kind: target.Kind})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, recalcbus.ErrNotFound
	}
	return row.Requested, row.Done, err
}

func (s *Store) RecordRecalculation(ctx context.Context, recalculation recalcbus.Recalculation, answered int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return recordRecalculation(ctx, s.queries.WithTx(tx), recalculation, answered)
	})
}

func recordRecalculation(ctx context.Context, queries *Queries, r recalcbus.Recalculation, answered int64) error {
	from := r.FromVersions
	if from == nil {
		from = []string{}
	}
	if err := queries.InsertRecalculation(ctx, InsertRecalculationParams{
		ID: r.ID, LabID: r.LabID, Year: r.Year, Kind: r.Kind, FromVersions: from, ToDataset: r.To.Dataset, ToVersion: r.To.Version,
		Activities: r.Activities, KgBefore: r.KgBefore, KgAfter: r.KgAfter, State: r.State, Message: r.Message, StartedAt: r.StartedAt,
	}); err != nil {
		return err
	}
	return queries.MarkRecalcDone(ctx, MarkRecalcDoneParams{LabID: r.LabID, Year: r.Year, Kind: r.Kind, Done: answered})
}

// InRecalcTx runs fn in one transaction.
func (s *Store) InRecalcTx(ctx context.Context, fn func(tx recalcbus.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&recalcTx{importTx{tx: tx, queries: s.queries.WithTx(tx)}})
	})
}

type recalcTx struct{ importTx }

func (t *recalcTx) RecalcRequest(ctx context.Context, target recalcbus.Target) (int64, int64, error) {
	return recalcRequest(ctx, t.queries, target)
}

func (t *recalcTx) RecordRecalculation(ctx context.Context, recalculation recalcbus.Recalculation, answered int64) error {
	return recordRecalculation(ctx, t.queries, recalculation, answered)
}

// StreamActivities reads the target's activities through a cursor, batch
// rows per fetch; fn may write in the transaction between fetches.
func (t *recalcTx) StreamActivities(ctx context.Context, target recalcbus.Target, batch int, fn func([]ledger.Activity) error) error {
	if _, err := t.tx.Exec(ctx, `DECLARE recalc_activities NO SCROLL CURSOR FOR
		SELECT id, lab_id, year, module, kind, source, inputs FROM calc.activities
		WHERE lab_id = $1 AND year = $2 AND kind = $3`, target.LabID, target.Year, target.Kind); err != nil {
		return fmt.Errorf("open the activities of %v: %w", target, err)
	}
	fetch := fmt.Sprintf("FETCH %d FROM recalc_activities", max(batch, 1))
	activities := make([]ledger.Activity, 0, batch)
	for {
		activities = activities[:0]
		rows, err := t.tx.Query(ctx, fetch)
		if err != nil {
			return err
		}
		for rows.Next() {
			var a ledger.Activity
			var inputs []byte
			if err := rows.Scan(&a.ID, &a.LabID, &a.Year, &a.Module, &a.Kind, &a.Source, &inputs); err != nil {
				rows.Close()
				return err
			}
			a.Inputs = inputs
			activities = append(activities, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(activities) == 0 {
			_, err := t.tx.Exec(ctx, "CLOSE recalc_activities")
			return err
		}
		if err := fn(activities); err != nil {
			return err
		}
	}
}

func (t *recalcTx) SupersedeEmissions(ctx context.Context, recalculationID uuid.UUID, activityIDs []uuid.UUID) ([]ledger.Emission, error) {
	rows, err := t.queries.SupersedeEmissions(ctx, SupersedeEmissionsParams{RecalculationID: recalculationID, ActivityIds: activityIDs})
	all := make([]ledger.Emission, len(rows))
	for i, e := range rows {
		var factorID uuid.UUID
		if e.FactorID != nil {
			factorID = *e.FactorID
		}
		all[i] = ledger.Emission{
			ActivityID: e.ActivityID, Variant: e.Variant, LabID: e.LabID, Year: e.Year, Module: e.Module,
			EmissionType: e.EmissionType, Scope: e.Scope, Quantity: e.Quantity, QuantityUnit: e.QuantityUnit,
			KgCO2e: e.KgCo2e, FactorID: factorID, FactorDataset: e.FactorDataset, FactorVersion: e.FactorVersion,
			UncertaintyPct: e.UncertaintyPct, Overridden: e.Overridden, Fallback: e.Fallback,
		}
	}
	return all, err
}

func toFactor(row CalcFactor) factors.Factor {
	return factors.Factor{
		ID: row.ID, Dataset: row.Dataset, Version: row.Version, Kind: row.Kind, EmissionType: row.EmissionType,
		Classification: row.Classification, Region: row.Region, Year: row.Year, Value: row.Value, Unit: row.Unit,
		Source: row.Source, Licence: row.Licence, GWPSet: row.GwpSet, Boundary: row.Boundary,
		RadiativeForcing: row.RadiativeForcing, UncertaintyPct: row.UncertaintyPct,
	}
}

// ensureDatasetVersions records the bundled dataset's versions as FINISHED
// (idempotent).
func ensureDatasetVersions(ctx context.Context, queries *Queries, all []factors.Factor) error {
	seen := map[factors.VersionRef]bool{}
	for _, f := range all {
		ref := factors.VersionRef{Dataset: f.Dataset, Version: f.Version}
		if seen[ref] {
			continue
		}
		seen[ref] = true
		if err := queries.EnsureDatasetVersion(ctx, EnsureDatasetVersionParams{
			ID: uuid.Must(uuid.NewV7()), Dataset: f.Dataset, Version: f.Version, Description: "bundled with the calculator",
		}); err != nil {
			return err
		}
	}
	return nil
}

// ActiveVersion reads a year's activation on the transaction's connection.
func (t *importTx) ActiveVersion(ctx context.Context, year int32) (factors.VersionRef, bool, error) {
	return activeVersion(ctx, t.queries, year)
}

func (t *entryTx) ShareTarget(ctx context.Context, labID uuid.UUID, year int32, kind string) error {
	return t.queries.ShareEntryTarget(ctx, ShareEntryTargetParams{LabID: labID.String(), Year: fmt.Sprint(year), Kind: kind})
}

func (t *recalcTx) LockEntries(ctx context.Context, labID uuid.UUID, year int32, kind string) error {
	return t.queries.LockEntryTarget(ctx, LockEntryTargetParams{LabID: labID.String(), Year: fmt.Sprint(year), Kind: kind})
}

// Contract reads a lab's electricity contract on the transaction's
// connection, as computations take it.
func (t *importTx) Contract(ctx context.Context, labID uuid.UUID, year int32) (*kinds.Contract, error) {
	row, err := t.queries.GetContract(ctx, GetContractParams{LabID: labID, Year: year})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &kinds.Contract{Supplier: row.Supplier, KgPerKWh: row.KgCo2ePerKwh, UncertaintyPct: row.UncertaintyPct, Source: row.Source}, nil
}
