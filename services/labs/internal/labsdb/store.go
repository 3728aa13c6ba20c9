// Package labsdb stores labs in the labs schema; the queries are generated
// by sqlc from queries/*.sql.
package labsdb

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/co2-calculator/co2-calculator/services/labs/internal/labsbus"
	"github.com/co2-calculator/co2-calculator/services/platform/audit"
	"github.com/co2-calculator/co2-calculator/services/platform/audit/auditpg"
)

// Store implements labsbus.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	db      DBTX // the pool, or the transaction
	queries *Queries
}

// NewStore returns a store over pool.
func NewStore(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, db: pool, queries: New(pool)}
}

// Schema is where labs keeps its tables, its audit trail included.
const Schema = "labs"

// Record implements labsbus.Store.
func (s *Store) Record(ctx context.Context, event audit.Event) error {
	return auditpg.Record(ctx, s.db, Schema, event)
}

// PurgeTrail implements labsbus.Store.
func (s *Store) PurgeTrail(ctx context.Context, id uuid.UUID) error {
	_, err := auditpg.PurgeLab(ctx, s.db, Schema, id)
	return err
}

// InTx runs fn in one transaction, committed when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(labsbus.Store) error) error {
	if s.pool == nil {
		return fn(s) // already inside a transaction
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return fn(&Store{db: tx, queries: s.queries.WithTx(tx)})
	})
}

func (s *Store) Create(ctx context.Context, lab labsbus.Lab) (labsbus.Lab, error) {
	row, err := s.queries.CreateLab(ctx, CreateLabParams{
		Code: lab.Code, Name: lab.Name, Description: lab.Description, ParentID: lab.ParentID, Country: lab.Country,
	})
	return toLab(row), translate(err)
}

func (s *Store) Get(ctx context.Context, id uuid.UUID) (labsbus.Lab, error) {
	row, err := s.queries.GetLab(ctx, id)
	return toLab(row), translate(err)
}

func (s *Store) GetForUpdate(ctx context.Context, id uuid.UUID) (labsbus.Lab, error) {
	row, err := s.queries.GetLabForUpdate(ctx, id)
	return toLab(row), translate(err)
}

func (s *Store) List(ctx context.Context, filter labsbus.ListFilter, afterCode string, limit int32) ([]labsbus.Lab, error) {
	params := ListLabsParams{ParentID: filter.ParentID, IncludeArchived: filter.IncludeArchived, LabIds: filter.LabIDs, PageLimit: limit}
	if filter.NameContains != "" {
		pattern := "%" + likeEscaper.Replace(filter.NameContains) + "%"
		params.NamePattern = &pattern
	}
	if afterCode != "" {
		params.AfterCode = &afterCode
	}
	rows, err := s.queries.ListLabs(ctx, params)
	return mapRows(rows, toLab), err
}

func (s *Store) Update(ctx context.Context, lab labsbus.Lab) (labsbus.Lab, error) {
	row, err := s.queries.UpdateLab(ctx, UpdateLabParams{
		ID: lab.ID, Code: lab.Code, Name: lab.Name, Description: lab.Description, ParentID: lab.ParentID, Country: lab.Country,
	})
	return toLab(row), translate(err)
}

func (s *Store) SetArchivedAt(ctx context.Context, id uuid.UUID, at *time.Time) (labsbus.Lab, error) {
	row, err := s.queries.SetArchivedAt(ctx, SetArchivedAtParams{ID: id, ArchivedAt: at})
	return toLab(row), translate(err)
}

func (s *Store) GetForPurge(ctx context.Context, id uuid.UUID) (labsbus.Lab, error) {
	row, err := s.queries.GetLabForPurge(ctx, id)
	return toLab(row), translate(err)
}

func (s *Store) MarkPurging(ctx context.Context, id uuid.UUID) error {
	return s.queries.MarkPurging(ctx, id)
}

func (s *Store) Delete(ctx context.Context, id uuid.UUID) error {
	deleted, err := s.queries.DeleteLab(ctx, id)
	if err == nil && deleted == 0 {
		return labsbus.ErrNotFound
	}
	return translate(err)
}

func (s *Store) CountSubLabs(ctx context.Context, id uuid.UUID) (int64, int64, error) {
	row, err := s.queries.CountSubLabs(ctx, &id)
	return row.Active, row.Total, err
}

func (s *Store) IsInSubtree(ctx context.Context, root, candidate uuid.UUID) (bool, error) {
	return s.queries.IsInSubtree(ctx, IsInSubtreeParams{Root: root, Candidate: candidate})
}

func (s *Store) LockHierarchy(ctx context.Context) error {
	return s.queries.LockHierarchy(ctx)
}

func (s *Store) GetByIDs(ctx context.Context, ids []uuid.UUID) ([]labsbus.Lab, error) {
	rows, err := s.queries.GetLabsByIDs(ctx, ids)
	return mapRows(rows, toLab), err
}

func (s *Store) ListMembers(ctx context.Context, labID uuid.UUID) ([]labsbus.Member, error) {
	rows, err := s.queries.ListMembers(ctx, labID)
	return mapRows(rows, toMember), err
}

func (s *Store) UpsertMember(ctx context.Context, member labsbus.Member) (labsbus.Member, error) {
	var row LabsMembership
	var err error
	if member.Subject != "" {
		row, err = s.queries.UpsertMemberBySubject(ctx, UpsertMemberBySubjectParams{
			LabID: member.LabID, Subject: member.Subject, Email: member.Email, Role: member.Role, CreatedBy: member.CreatedBy,
		})
	} else {
		row, err = s.queries.UpsertMemberByEmail(ctx, UpsertMemberByEmailParams{
			LabID: member.LabID, Email: member.Email, Role: member.Role, CreatedBy: member.CreatedBy,
		})
	}
	return toMember(row), err
}

func (s *Store) DeleteMember(ctx context.Context, labID uuid.UUID, name string) error {
	deleted, err := s.queries.DeleteMember(ctx, DeleteMemberParams{LabID: labID, Name: name})
	if err == nil && deleted == 0 {
		return labsbus.ErrNotFound
	}
	return err
}

func (s *Store) EffectiveGrants(ctx context.Context, subject, email string) ([]labsbus.LabGrant, error) {
	rows, err := s.queries.EffectiveGrants(ctx, EffectiveGrantsParams{Subject: subject, Email: email})
	return mapRows(rows, func(row EffectiveGrantsRow) labsbus.LabGrant {
		return labsbus.LabGrant{LabID: row.LabID, LabCode: row.Code, LabName: row.Name, Role: row.Role, GrantedOn: row.GrantedOn}
	}), err
}

// mapRows turns query rows into business values (nil rows stay nil).
func mapRows[Row, Value any](rows []Row, convert func(Row) Value) []Value {
	if rows == nil {
		return nil
	}
	values := make([]Value, len(rows))
	for i, row := range rows {
		values[i] = convert(row)
	}
	return values
}

func toMember(row LabsMembership) labsbus.Member {
	return labsbus.Member{
		LabID: row.LabID, Subject: row.Subject, Email: row.Email, Role: row.Role,
		CreatedAt: row.CreatedAt, CreatedBy: row.CreatedBy,
	}
}

// likeEscaper makes user text match literally inside ILIKE.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func translate(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return labsbus.ErrNotFound
	case errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "labs_code_key":
		return labsbus.ErrCodeTaken
	default:
		return err
	}
}

func toLab(row LabsLab) labsbus.Lab {
	return labsbus.Lab{
		ID: row.ID, Code: row.Code, Name: row.Name, Description: row.Description, ParentID: row.ParentID,
		Country: row.Country, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, ArchivedAt: row.ArchivedAt,
		PurgingAt: row.PurgingAt,
	}
}
