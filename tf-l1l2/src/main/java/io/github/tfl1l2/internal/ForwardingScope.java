package io.github.tfl1l2.internal;

import org.tensorflow.DeviceSpec;
import org.tensorflow.ExecutionEnvironment;
import org.tensorflow.Operation;
import org.tensorflow.OperationBuilder;
import org.tensorflow.op.Scope;

/**
 * A {@link Scope} that forwards every call to a delegate and wraps each scope it derives the same
 * way, so a subclass changes only what it means to change (usually {@link #apply}) and keeps that
 * change through {@code withSubScope}, {@code withName}, {@code withDevice} and the rest.
 *
 * <p>Not API: public only because the scopes that extend it live in several packages of this
 * library ({@code io.github.tfl1l2.xla.XlaScope}, {@link PinnedScope}).
 *
 * @param <S> the subclass, so that derived scopes keep its type
 */
public abstract class ForwardingScope<S extends ForwardingScope<S>> implements Scope {
  private final Scope delegate;

  /**
   * Forwards to {@code delegate}.
   *
   * @param delegate the scope every call goes to
   */
  protected ForwardingScope(Scope delegate) {
    this.delegate = delegate;
  }

  /**
   * The wrapped scope.
   *
   * @return the scope given to the constructor
   */
  protected final Scope delegate() {
    return delegate;
  }

  /**
   * This scope's behaviour around {@code scope}: how every derived scope is wrapped again.
   *
   * @param scope a scope the delegate derived ({@code withSubScope}, {@code withName}, …)
   * @return a scope of the subclass's type that wraps {@code scope} with the same behaviour
   */
  protected abstract S rewrap(Scope scope);

  @Override
  public ExecutionEnvironment env() {
    return delegate.env();
  }

  @Override
  public S withSubScope(String childScopeName) {
    return rewrap(delegate.withSubScope(childScopeName));
  }

  @Override
  public S withName(String opName) {
    return rewrap(delegate.withName(opName));
  }

  @Override
  public S withNameAsSubScope(String defaultName) {
    return rewrap(delegate.withNameAsSubScope(defaultName));
  }

  @Override
  public S withDevice(DeviceSpec newDevice) {
    return rewrap(delegate.withDevice(newDevice));
  }

  @Override
  public S withInitScope() {
    return rewrap(delegate.withInitScope());
  }

  @Override
  public String makeOpName(String defaultName) {
    return delegate.makeOpName(defaultName);
  }

  @Override
  public String makeUnique(String id) {
    return delegate.makeUnique(id);
  }

  @Override
  public void refreshNames() {
    delegate.refreshNames();
  }

  @Override
  public S withControlDependencyOps(Iterable<Operation> controls) {
    return rewrap(delegate.withControlDependencyOps(controls));
  }

  @Override
  public OperationBuilder apply(OperationBuilder builder) {
    return delegate.apply(builder);
  }

  @Override
  public String getDeviceString() {
    return delegate.getDeviceString();
  }

  @Override
  public boolean isInit() {
    return delegate.isInit();
  }
}
