// Package faults tells a passing fault of the infrastructure (a database
// restarting, a service briefly away, a connection cut) from an error that
// would come back on every attempt, so background work retries the first
// within its attempts and reports the second at once.
package faults

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"
)

// Transient reports whether err is a fault worth another attempt.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	var connectErr *connect.Error
	if errors.As(err, &connectErr) {
		switch connectErr.Code() {
		case connect.CodeUnavailable, connect.CodeDeadlineExceeded, connect.CodeAborted, connect.CodeResourceExhausted:
			return true
		case connect.CodeUnknown, connect.CodeInternal:
			// A stream cut mid-way surfaces as one of these, with the
			// transport's error inside.
			return transportError(connectErr.Unwrap())
		default:
			return false
		}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"), // insufficient resources
			pgErr.Code == "57P01",               // admin shutdown (a restart)
			pgErr.Code == "57P02",               // crash shutdown
			pgErr.Code == "57P03",               // cannot connect now (starting)
			pgErr.Code == "40001",               // serialization failure
			pgErr.Code == "40P01",               // deadlock detected
			pgErr.Code == "55P03":               // lock not available
			return true
		default:
			return false
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	return transportError(err)
}

// transportError is a connection that could not be made or broke off.
func transportError(err error) bool {
	if err == nil {
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	var opErr *net.OpError
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || errors.As(err, &opErr) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection reset") ||
		strings.Contains(err.Error(), "unexpected EOF") || strings.Contains(err.Error(), "stream error")
}
