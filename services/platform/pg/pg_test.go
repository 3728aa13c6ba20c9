package pg_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/co2-calculator/co2-calculator/services/platform/config"
	"github.com/co2-calculator/co2-calculator/services/platform/pg"
	"github.com/co2-calculator/co2-calculator/services/platform/pgtest"
)

func open(t *testing.T, cfg pg.Config) context.Context {
	t.Helper()
	cfg.URL = config.SecretURL(pgtest.NewDatabase(t))
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	pool, err := pg.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	testPool = pool
	return ctx
}

var testPool interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Begin(ctx context.Context) (pgx.Tx, error)
}

func TestAWaitForAPoolConnectionEndsAfterTheAcquireTimeout(t *testing.T) {
	ctx := open(t, pg.Config{MaxConns: 1, AcquireTimeout: 300 * time.Millisecond})
	held, err := testPool.Begin(ctx) // the pool's only connection
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback(ctx) //nolint:errcheck // test cleanup

	started := time.Now()
	_, err = testPool.Exec(ctx, "SELECT 1")
	waited := time.Since(started)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a query on a pool whose only connection is taken: got %v, want a deadline error", err)
	}
	if waited > 5*time.Second || ctx.Err() != nil {
		t.Fatalf("the wait took %s: the acquire timeout did not end it", waited)
	}
	// The pool still works once the connection is back.
	if err := held.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := testPool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("after the connection came back: %v", err)
	}
}

func TestAStatementLongerThanTheStatementTimeoutIsCancelledByTheServer(t *testing.T) {
	ctx := open(t, pg.Config{StatementTimeout: 200 * time.Millisecond})
	_, err := testPool.Exec(ctx, "SELECT pg_sleep(5)")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" { // query_canceled
		t.Fatalf("a 5 s statement under a 200 ms statement timeout: got %v, want SQLSTATE 57014", err)
	}
}

func TestATransactionLeftIdleIsEndedByTheServer(t *testing.T) {
	ctx := open(t, pg.Config{IdleInTransactionTimeout: 200 * time.Millisecond})
	tx, err := testPool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // test cleanup
	if _, err := tx.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // a frozen client
	if _, err := tx.Exec(ctx, "SELECT 1"); err == nil {
		t.Fatal("a transaction idle for 1 s under a 200 ms idle-in-transaction timeout still took a statement")
	}
}
