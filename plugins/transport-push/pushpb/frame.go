package pushpb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Framing: every message of a session is a 4-byte big-endian length, then
// that many bytes of the message's protobuf encoding. One connection
// carries one session, read and written by one goroutine on each side: on
// a master holding 20,000 mostly idle clients, the per-connection
// buffers and goroutines of HTTP/2 were most of its memory.

// FrameHeaderSize is the length prefix of every frame.
const FrameHeaderSize = 4

// FrameTooLargeError is returned by ReadFrame for a frame announcing more
// than the reader accepts; nothing of it was read.
type FrameTooLargeError struct{ Size, Max int }

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("message of %d bytes exceeds the %d-byte limit", e.Size, e.Max)
}

// http2Preface starts what a version 1 (gRPC) client sends.
const http2Preface = "PRI "

// ErrHTTP2Client is returned by ReadFrame when the peer speaks HTTP/2: a
// client of the first, gRPC-based, version of the protocol.
var ErrHTTP2Client = errors.New("the peer speaks HTTP/2 (a push client of protocol version 1): upgrade it")

// WriteFrame writes m as one frame in a single Write, so it leaves as one
// TLS record.
func WriteFrame(w io.Writer, m proto.Message) error {
	b := make([]byte, FrameHeaderSize, FrameHeaderSize+proto.Size(m))
	b, err := proto.MarshalOptions{}.MarshalAppend(b, m)
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	binary.BigEndian.PutUint32(b, uint32(len(b)-FrameHeaderSize))
	_, err = w.Write(b)
	return err
}

// ReadFrame reads one frame of at most max bytes into m. A frame cut short
// by the end of the stream is io.ErrUnexpectedEOF; a clean end between
// frames is io.EOF.
func ReadFrame(r io.Reader, max int, m proto.Message) error {
	var h [FrameHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return err
	}
	if string(h[:]) == http2Preface {
		return ErrHTTP2Client
	}
	n := int(binary.BigEndian.Uint32(h[:]))
	if n > max {
		return &FrameTooLargeError{Size: n, Max: max}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("frame of %d bytes: %w", n, err)
	}
	if err := proto.Unmarshal(body, m); err != nil {
		return fmt.Errorf("decode frame of %d bytes: %w", n, err)
	}
	return nil
}

// ClientConn is a client's side of a session.
type ClientConn struct {
	conn    net.Conn
	maxRecv int
	wmu     sync.Mutex
}

// NewClientConn runs a session over conn (a TLS connection to the
// server), accepting server messages of at most maxRecv bytes.
func NewClientConn(conn net.Conn, maxRecv int) *ClientConn {
	return &ClientConn{conn: conn, maxRecv: maxRecv}
}

// Send writes m. It may be called while another goroutine is in Recv.
func (c *ClientConn) Send(m *ClientMessage) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return WriteFrame(c.conn, m)
}

// Recv reads the next server message. A Refusal ends the session: it is
// returned as an error carrying its status code (status.Code reads it).
func (c *ClientConn) Recv() (*ServerMessage, error) {
	var m ServerMessage
	if err := ReadFrame(c.conn, c.maxRecv, &m); err != nil {
		return nil, err
	}
	if r := m.GetRefusal(); r != nil {
		return nil, status.Error(codes.Code(r.GetCode()), r.GetMessage())
	}
	return &m, nil
}

// Close closes the connection, which ends a Recv in progress.
func (c *ClientConn) Close() error { return c.conn.Close() }

// Conn is the connection the session runs on.
func (c *ClientConn) Conn() net.Conn { return c.conn }
