package rpcclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/co2-calculator/co2-calculator/services/platform/rpcclient"
	"github.com/co2-calculator/co2-calculator/services/platform/server"
)

// A rolling update as a Service sees it: two replicas behind one address
// (SO_REUSEPORT: the kernel spreads connections over both listeners), one
// of them shutting down gracefully while the gateway forwards unary calls
// whose bodies cannot be read twice. Not one call may fail.
func TestNoCallFailsWhileAReplicaShutsDown(t *testing.T) {
	address := ""
	replicas := make([]*replica, 2)
	for i := range replicas {
		replicas[i] = startReplica(t, address)
		address = replicas[i].address
	}
	client := &http.Client{Transport: rpcclient.Transport(server.Limits{MaxMessageBytes: 1 << 20})}

	var calls, failed atomic.Int64
	var failures sync.Map
	ctx, stop := context.WithCancel(t.Context())
	var callers sync.WaitGroup
	for range 16 {
		callers.Go(func() {
			for ctx.Err() == nil {
				calls.Add(1)
				if err := call(ctx, client, address); err != nil && ctx.Err() == nil {
					failed.Add(1)
					failures.Store(err.Error(), true)
				}
			}
		})
	}
	// The replica that holds the connection goes, a new one takes its
	// place; several times over.
	for range 12 {
		time.Sleep(150 * time.Millisecond)
		for i, r := range replicas {
			if r.connections.Load() > 0 {
				r.shutdown(t)
				replicas[i] = startReplica(t, address)
				break
			}
		}
	}
	time.Sleep(150 * time.Millisecond)
	stop()
	callers.Wait()
	if failed.Load() > 0 {
		var messages []string
		failures.Range(func(message, _ any) bool { messages = append(messages, message.(string)); return true })
		t.Fatalf("%d of %d calls failed while replicas were replaced:\n%s", failed.Load(), calls.Load(), strings.Join(messages, "\n"))
	}
	t.Logf("%d calls, none failed", calls.Load())
}

// A peer whose listener is closed (a pod still in a proxy's list after it
// stopped listening): the call is sent again, and reaches the replica that
// listens by then.
func TestACallWaitsOutARefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := ln.Addr().String()
	_ = ln.Close()
	time.AfterFunc(300*time.Millisecond, func() { startReplica(t, address) })
	client := &http.Client{Transport: rpcclient.Transport(server.Limits{})}
	if err := call(t.Context(), client, address); err != nil {
		t.Fatalf("the call failed although a replica listened 300 ms later: %v", err)
	}
}

// A stream is sent as it comes: its body is never held back to be sent
// again (the first bytes reach the server before the client sends the
// rest).
func TestAStreamIsNotHeldBack(t *testing.T) {
	first := make(chan string, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := h2cServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 5)
		_, _ = io.ReadFull(r.Body, buf)
		first <- string(buf)
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	body, writer := io.Pipe()
	request, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+ln.Addr().String()+"/upload", body)
	request.Header.Set("Content-Type", "application/connect+proto")
	client := &http.Client{Transport: rpcclient.Transport(server.Limits{MaxMessageBytes: 1 << 20})}
	answered := make(chan error, 1)
	go func() {
		response, err := client.Do(request)
		if err == nil {
			_ = response.Body.Close()
		}
		answered <- err
	}()
	_, _ = writer.Write([]byte("first"))
	select {
	case got := <-first:
		if got != "first" {
			t.Fatalf("the server read %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream's first bytes did not reach the server before its end: the body was held back")
	}
	_ = writer.Close()
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
}

// call is a unary Connect call as the gateway forwards it: a body that
// cannot be read again.
func call(ctx context.Context, client *http.Client, address string) error {
	const message = "a unary message"
	request, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+address+"/co2.Echo/Echo", onceReader{strings.NewReader(message)})
	if err != nil {
		return err
	}
	request.Header.Set("Content-Type", "application/proto")
	response, err := client.Do(request)
	if err != nil {
		return err
	}
	defer response.Body.Close()
	got, err := io.ReadAll(response.Body)
	if err != nil {
		return err
	}
	if response.StatusCode != http.StatusOK || string(got) != message {
		return fmt.Errorf("%s: %q", response.Status, got)
	}
	return nil
}

// onceReader hides strings.Reader from http.NewRequest, which would make
// the body re-readable itself.
type onceReader struct{ io.Reader }

type replica struct {
	address     string
	srv         *http.Server
	connections atomic.Int64
}

// startReplica serves an echo on address (any port when empty), sharing
// the port with the replicas already there.
func startReplica(t *testing.T, address string) *replica {
	t.Helper()
	if address == "" {
		address = "127.0.0.1:0"
	}
	config := net.ListenConfig{Control: func(_, _ string, conn syscall.RawConn) error {
		var sockErr error
		err := conn.Control(func(fd uintptr) {
			sockErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
		})
		return errors.Join(err, sockErr)
	}}
	ln, err := config.Listen(context.Background(), "tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	r := &replica{address: ln.Addr().String()}
	r.srv = h2cServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		time.Sleep(time.Millisecond)
		_, _ = w.Write(body)
	}))
	r.srv.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			r.connections.Add(1)
		}
	}
	go func() { _ = r.srv.Serve(ln) }()
	t.Cleanup(func() { _ = r.srv.Close() })
	return r
}

func (r *replica) shutdown(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func h2cServer(handler http.Handler) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{Handler: handler, Protocols: &protocols}
}
