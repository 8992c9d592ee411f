// The server's side of the wire: stdin/stdout framing that fails loudly on a corrupt frame, and the protocol's guards.
import {
  ErrorCodes, LSPErrorCodes, StreamMessageReader, StreamMessageWriter, type DataCallback, type Disposable, type Message, type MessageReader,
  type MessageWriter, type RequestMessage, type ResponseMessage,
} from "vscode-languageserver/node.js";

const isRequest = (m: Message): m is RequestMessage => "method" in m && "id" in m && (m as RequestMessage).id !== undefined;

/**
 * Reads messages from `input`. A frame that cannot be read (a bad Content-Length, a body that is not JSON) leaves the
 * stream with no way to find the next message, so the server says why on stderr and exits with status 1: editors
 * restart a server that exits, while one that stays alive and silent is never restarted. Requests before `initialize`
 * are answered with the protocol's ServerNotInitialized error (-32002) and not run.
 */
export function serverTransport(input: NodeJS.ReadableStream, output: NodeJS.WritableStream, exit: (code: number) => void = (c) => process.exit(c)): { reader: MessageReader; writer: MessageWriter } {
  const inner = new StreamMessageReader(input);
  const writer = new StreamMessageWriter(output);
  inner.onError((e) => {
    process.stderr.write(`rnnc lsp: cannot read a message from the client (${e.message.split("\n")[0]}); exiting so that the editor restarts the server\n`);
    // Replies to the messages read before the bad frame go out first.
    setTimeout(() => exit(1), 200);
  });
  let initialized = false;
  const reader: MessageReader = {
    onError: inner.onError,
    // The client closing its end (end of stdin) does not close the connection until the messages read before it are
    // answered: a client that writes a whole session and then closes gets every reply, and the exit it asked for.
    onClose: (listener) => inner.onClose((e) => { setTimeout(() => listener(e), 200); }),
    onPartialMessage: inner.onPartialMessage,
    dispose: () => inner.dispose(),
    listen(callback: DataCallback): Disposable {
      return inner.listen((m) => {
        if (!initialized && isRequest(m)) {
          if (m.method !== "initialize") {
            const reply: ResponseMessage = { jsonrpc: "2.0", id: m.id, error: { code: ErrorCodes.ServerNotInitialized, message: `the server is not initialized: send "initialize" before "${m.method}"` } };
            void writer.write(reply);
            return;
          }
          initialized = true;
        }
        callback(m);
      });
    },
  };
  return { reader, writer };
}

/** A request cancelled (`$/cancelRequest`) before it started is answered RequestCancelled and never run. */
export const cancelUndispatched = (message: Message): ResponseMessage | undefined =>
  isRequest(message) ? { jsonrpc: "2.0", id: message.id, error: { code: LSPErrorCodes.RequestCancelled, message: "the request was cancelled before it ran" } } : undefined;
