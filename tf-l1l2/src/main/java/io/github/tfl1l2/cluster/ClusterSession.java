package io.github.tfl1l2.cluster;

import static org.tensorflow.internal.c_api.global.tensorflow.TF_SetConfig;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_SetTarget;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.PointerScope;
import org.tensorflow.Graph;
import org.tensorflow.Session;
import org.tensorflow.internal.c_api.TF_Graph;
import org.tensorflow.internal.c_api.TF_Session;
import org.tensorflow.internal.c_api.TF_SessionOptions;
import org.tensorflow.internal.c_api.TF_Status;
import org.tensorflow.proto.ConfigProto;

/**
 * Opens a {@link Session} on a TensorFlow gRPC cluster: a graph runs on the tasks of servers
 * started from a {@code ClusterDef} (for example with {@code tf-l1l2 server}), each op on the task
 * its device names ({@code /job:ps/task:1}), and unpinned ops on the task the target names.
 *
 * <p><b>The one workaround of a gap in TF-Java.</b> TF-Java 1.1.0 runs TensorFlow's gRPC server
 * ({@code org.tensorflow.Server}) but gives no way to open a session against one: {@code Session}
 * takes no target. The C API has it ({@code TF_SetTarget} on the session options, bound in {@code
 * org.tensorflow.internal.c_api}), and {@code Session} has a package-private constructor that wraps
 * a native session. This class creates the native session with the target and wraps it through that
 * constructor (the one TF-Java's own {@code SavedModelBundle} uses), reached by reflection. It
 * works with TF-Java on the class path; on the module path the JVM needs {@code --add-opens
 * org.tensorflow/org.tensorflow=ALL-UNNAMED} (or the caller's module). Nothing else in this library
 * reaches into TF-Java.
 *
 * <p><b>Initialization.</b> Variables live on their tasks and outlive a client's session, so the
 * session does not run the graph's initializers by itself: call {@link Session#initialize()} once
 * to initialize them, or {@link Session#restore(String)} to load a checkpoint (both count as
 * initialization); {@link Session#save(String)} writes one. TF-Java offers no way to mark a graph's
 * initializers as run without running them, so a second client that joins variables another one
 * initialized restores a checkpoint, or builds its variables without initializers.
 *
 * <p><b>Timeouts.</b> Unless the configuration sets one, a session waits at most {@link
 * #DEFAULT_OPERATION_TIMEOUT_MS} for an operation ({@code ConfigProto.operation_timeout_in_ms}): a
 * run that needs a task that died or stopped answering fails with a {@code TensorFlowException}
 * naming the task or the deadline, instead of waiting forever. Closing a session one of whose tasks
 * died also waits up to that timeout.
 */
public final class ClusterSession {
  /**
   * The operation timeout used when the configuration sets none: 30 000 ms. A run that needs a task
   * that stopped answering fails after at most this long; a killed task is reported at once.
   */
  public static final long DEFAULT_OPERATION_TIMEOUT_MS = 30_000;

  /** How long {@link #open} waits for the target to accept a connection. */
  private static final int CONNECT_TIMEOUT_MS = 10_000;

  private static final Pattern TARGET =
      Pattern.compile(
          "grpc://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})");

  private ClusterSession() {}

  /**
   * Opens a session on the cluster task at {@code target}, with the default configuration and the
   * {@linkplain #DEFAULT_OPERATION_TIMEOUT_MS default operation timeout}.
   *
   * @param graph the graph to run; ops pinned to {@code /job:J/task:T} run on that task
   * @param target the task's gRPC address, {@code grpc://host:port} (for example {@code
   *     grpc://127.0.0.1:2224})
   * @return a session to run {@code graph} on the cluster; close it
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code target} is not {@code grpc://host:port} with a port
   *     in 1–65535, or nothing accepts connections there within 10 s
   * @throws org.tensorflow.exceptions.TensorFlowException if TensorFlow cannot create the session
   */
  public static Session open(Graph graph, String target) {
    return open(graph, target, ConfigProto.getDefaultInstance());
  }

  /**
   * Opens a session on the cluster task at {@code target} with a configuration. Its {@code
   * operation_timeout_in_ms} is kept when set (positive) and is {@link
   * #DEFAULT_OPERATION_TIMEOUT_MS} when unset (0).
   *
   * @param graph the graph to run; ops pinned to {@code /job:J/task:T} run on that task
   * @param target the task's gRPC address, {@code grpc://host:port}
   * @param config the session configuration
   * @return a session to run {@code graph} on the cluster; close it
   * @throws NullPointerException if an argument is null
   * @throws IllegalArgumentException if {@code target} is not {@code grpc://host:port} with a port
   *     in 1–65535, nothing accepts connections there within 10 s, or the operation timeout is
   *     negative
   * @throws org.tensorflow.exceptions.TensorFlowException if TensorFlow cannot create the session
   */
  public static Session open(Graph graph, String target, ConfigProto config) {
    Objects.requireNonNull(graph, "graph must not be null");
    Objects.requireNonNull(
        target, "target must not be null; expected grpc://host:port, e.g. grpc://127.0.0.1:2224");
    Objects.requireNonNull(config, "config must not be null");
    InetSocketAddress address = checkTarget(target);
    ConfigProto configured = withTimeout(config);
    checkReachable(target, address);
    return Wrapper.open(graph, target, configured);
  }

  private static InetSocketAddress checkTarget(String target) {
    Matcher matcher = TARGET.matcher(target);
    if (!matcher.matches()) {
      throw new IllegalArgumentException(
          "target must be grpc://host:port (e.g. grpc://127.0.0.1:2224), but was \""
              + target
              + "\"");
    }
    int port = Integer.parseInt(matcher.group(3));
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(
          "target's port must be in 1..65535, but was " + port + " in \"" + target + "\"");
    }
    String host = matcher.group(1);
    return InetSocketAddress.createUnresolved(
        host.startsWith("[") ? host.substring(1, host.length() - 1) : host, port);
  }

  /**
   * Fails unless something accepts connections at the target. TensorFlow creates a remote session
   * without contacting it, and its first run against an address where nothing listens waits the
   * whole operation timeout and then reports only "Deadline Exceeded".
   */
  private static void checkReachable(String target, InetSocketAddress unresolved) {
    InetSocketAddress address =
        new InetSocketAddress(unresolved.getHostString(), unresolved.getPort());
    if (address.isUnresolved()) {
      throw new IllegalArgumentException(
          "target's host \""
              + unresolved.getHostString()
              + "\" is unknown (in \""
              + target
              + "\")");
    }
    try (Socket socket = new Socket()) {
      socket.connect(address, CONNECT_TIMEOUT_MS);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "target "
              + target
              + " cannot be reached ("
              + e.getMessage()
              + "): start its task first, e.g. with tf-l1l2 server",
          e);
    }
  }

  private static ConfigProto withTimeout(ConfigProto config) {
    long timeout = config.getOperationTimeoutInMs();
    if (timeout < 0) {
      throw new IllegalArgumentException(
          "config's operation_timeout_in_ms must be > 0 (or 0 for the default of "
              + DEFAULT_OPERATION_TIMEOUT_MS
              + " ms), but was "
              + timeout);
    }
    return timeout > 0
        ? config
        : config.toBuilder().setOperationTimeoutInMs(DEFAULT_OPERATION_TIMEOUT_MS).build();
  }

  /**
   * The reflective access to TF-Java's package-private members, looked up once: {@code Graph.ref()}
   * and {@code Graph.Reference.nativeHandle()} for the graph's native handle while the session is
   * created, and {@code Session(Graph, TF_Session)} to wrap the native session.
   */
  private static final class Wrapper {
    private static final Method REF;
    private static final Method NATIVE_HANDLE;
    private static final Constructor<Session> WRAP;
    private static final RuntimeException UNAVAILABLE;

    static {
      Method ref = null;
      Method nativeHandle = null;
      Constructor<Session> wrap = null;
      RuntimeException unavailable = null;
      try {
        ref = Graph.class.getDeclaredMethod("ref");
        ref.setAccessible(true);
        nativeHandle = ref.getReturnType().getDeclaredMethod("nativeHandle");
        nativeHandle.setAccessible(true);
        wrap = Session.class.getDeclaredConstructor(Graph.class, TF_Session.class);
        wrap.setAccessible(true);
      } catch (ReflectiveOperationException | RuntimeException e) {
        unavailable =
            new IllegalStateException(
                "cannot open a cluster session: this TF-Java ("
                    + Session.class.getPackage().getImplementationVersion()
                    + ") lacks the package-private Session(Graph, TF_Session) or Graph.ref() that"
                    + " tf-l1l2 was built against (TF-Java 1.1.0), or its package is not open to"
                    + " reflection (on the module path add --add-opens"
                    + " org.tensorflow/org.tensorflow=ALL-UNNAMED): "
                    + e,
                e);
      }
      REF = ref;
      NATIVE_HANDLE = nativeHandle;
      WRAP = wrap;
      UNAVAILABLE = unavailable;
    }

    // "try": the PointerScope is never named in the body; JavaCPP attaches the native objects
    // created while it is open to it, and frees them when it closes.
    @SuppressWarnings("try")
    static Session open(Graph graph, String target, ConfigProto config) {
      if (UNAVAILABLE != null) {
        throw UNAVAILABLE;
      }
      // The reference keeps the graph open while the native session is created from it; the
      // Session takes its own reference.
      try (AutoCloseable reference = (AutoCloseable) invoke(REF, graph);
          PointerScope scope = new PointerScope()) {
        TF_Graph graphHandle = (TF_Graph) invoke(NATIVE_HANDLE, reference);
        // Status and options are freed when the scope closes; TF_NewSession copies the options.
        TF_Status status = TF_Status.newStatus();
        TF_SessionOptions options = TF_SessionOptions.newSessionOptions();
        BytePointer configBytes = new BytePointer(config.toByteArray());
        TF_SetConfig(options, configBytes, configBytes.capacity(), status);
        status.throwExceptionIfNotOK();
        TF_SetTarget(options, target);
        TF_Session handle = TF_Session.newSession(graphHandle, options, status);
        status.throwExceptionIfNotOK();
        // Outlives the scope; Session.close() releases it, which closes and deletes the session.
        handle.retainReference();
        try {
          return WRAP.newInstance(graph, handle);
        } catch (InvocationTargetException e) {
          handle.releaseReference();
          throw unchecked(e.getCause());
        } catch (ReflectiveOperationException e) {
          handle.releaseReference();
          throw new IllegalStateException("cannot wrap the native session: " + e, e);
        }
      } catch (RuntimeException e) {
        throw e;
      } catch (Exception e) {
        throw new IllegalStateException("cannot release the graph reference: " + e, e);
      }
    }

    private static Object invoke(Method method, Object target) {
      try {
        return method.invoke(target);
      } catch (InvocationTargetException e) {
        throw unchecked(e.getCause());
      } catch (IllegalAccessException e) {
        throw new IllegalStateException("cannot call TF-Java's " + method + ": " + e, e);
      }
    }

    private static RuntimeException unchecked(Throwable cause) {
      if (cause instanceof RuntimeException runtime) {
        return runtime;
      }
      if (cause instanceof Error error) {
        throw error;
      }
      return new IllegalStateException(cause);
    }
  }
}
