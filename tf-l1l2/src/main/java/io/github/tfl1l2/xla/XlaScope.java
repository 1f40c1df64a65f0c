package io.github.tfl1l2.xla;

import io.github.tfl1l2.internal.ForwardingScope;
import java.util.Objects;
import org.tensorflow.OperationBuilder;
import org.tensorflow.op.Scope;

/**
 * A {@link Scope} that marks every graph operation built through it for XLA compilation.
 *
 * <p>TF-Java 1.1.0 has no public switch for XLA. TensorFlow's {@code MarkForCompilation} pass,
 * however, honours two node attributes on any device, CPU included: {@code _XlaCompile=true} asks
 * for the node to be compiled, and nodes that share one {@code _XlaScope} string may be clustered
 * together. This scope sets both attributes in {@link #apply(OperationBuilder)}, so every op class
 * of TF-Java ({@code Abs.create(scope, x)}, ...) built with it is marked, and all scopes derived
 * from it ({@link #withSubScope}, {@link #withName}, ...) keep the mark.
 *
 * <p>In an eager environment operations run one by one and there is nothing to cluster, so the
 * attributes are not set there.
 *
 * <p>Instances are immutable.
 */
public final class XlaScope extends ForwardingScope<XlaScope> {
  /** The node attribute that asks TensorFlow to compile a node with XLA. */
  public static final String XLA_COMPILE_ATTR = "_XlaCompile";

  /** The node attribute whose value groups marked nodes into one cluster. */
  public static final String XLA_SCOPE_ATTR = "_XlaScope";

  private final String clusterScope;

  private XlaScope(Scope delegate, String clusterScope) {
    super(delegate);
    this.clusterScope = clusterScope;
  }

  /**
   * Wraps {@code delegate} so that operations built through the result are marked {@code
   * _XlaCompile=true, _XlaScope=clusterScope}.
   *
   * @param delegate the scope that names, places and orders the operations
   * @param clusterScope the non-empty {@code _XlaScope} value shared by the marked operations
   * @return the marking scope
   * @throws IllegalArgumentException if {@code clusterScope} is empty
   */
  public static XlaScope wrap(Scope delegate, String clusterScope) {
    Objects.requireNonNull(delegate, "delegate must not be null");
    Objects.requireNonNull(clusterScope, "clusterScope must not be null");
    if (clusterScope.isEmpty()) {
      throw new IllegalArgumentException("clusterScope must be a non-empty string, but was \"\"");
    }
    return new XlaScope(delegate, clusterScope);
  }

  /**
   * Returns the {@code _XlaScope} value this scope sets.
   *
   * @return the non-empty {@code clusterScope} given to {@link #wrap}
   */
  public String clusterScope() {
    return clusterScope;
  }

  /**
   * Returns the wrapped scope, which builds operations without the XLA marks.
   *
   * @return the {@code delegate} given to {@link #wrap} or, for a scope derived from the wrapped
   *     one ({@code withSubScope}, …), the delegate's scope derived the same way
   */
  public Scope unmarked() {
    return delegate();
  }

  @Override
  protected XlaScope rewrap(Scope scope) {
    return new XlaScope(scope, clusterScope);
  }

  @Override
  public OperationBuilder apply(OperationBuilder builder) {
    OperationBuilder applied = delegate().apply(builder);
    if (env().isGraph()) {
      applied.setAttr(XLA_COMPILE_ATTR, true).setAttr(XLA_SCOPE_ATTR, clusterScope);
    }
    return applied;
  }
}
