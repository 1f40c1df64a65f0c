package io.github.tfl1l2;

import org.tensorflow.DeviceSpec;
import org.tensorflow.ExecutionEnvironment;
import org.tensorflow.Operation;
import org.tensorflow.OperationBuilder;
import org.tensorflow.op.Scope;

/**
 * A scope that sets its device on every op it builds, whatever the wrapped scope does. TF-Java
 * 1.1.0's {@code NativeScope}, the scope a registered gradient function builds with, accepts {@code
 * withDevice} but never sets the device on an op: the penalty's gradient would run on the default
 * device and pull each weight there.
 */
final class PinnedScope implements Scope {
  private final Scope delegate;
  private final DeviceSpec device;

  private PinnedScope(Scope delegate, DeviceSpec device) {
    this.delegate = delegate;
    this.device = device;
  }

  /** {@code scope} pinned to {@code device}, or {@code scope} itself when there is none. */
  static Scope on(Scope scope, DeviceSpec device) {
    return device == null ? scope : new PinnedScope(scope.withDevice(device), device);
  }

  private PinnedScope rewrap(Scope scope) {
    return new PinnedScope(scope, device);
  }

  @Override
  public ExecutionEnvironment env() {
    return delegate.env();
  }

  @Override
  public Scope withSubScope(String childScopeName) {
    return rewrap(delegate.withSubScope(childScopeName));
  }

  @Override
  public Scope withName(String opName) {
    return rewrap(delegate.withName(opName));
  }

  @Override
  public Scope withNameAsSubScope(String defaultName) {
    return rewrap(delegate.withNameAsSubScope(defaultName));
  }

  @Override
  public Scope withDevice(DeviceSpec newDevice) {
    return new PinnedScope(delegate.withDevice(newDevice), newDevice);
  }

  @Override
  public Scope withInitScope() {
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
  public Scope withControlDependencyOps(Iterable<Operation> controls) {
    return rewrap(delegate.withControlDependencyOps(controls));
  }

  @Override
  public OperationBuilder apply(OperationBuilder builder) {
    return delegate.apply(builder).setDevice(device.toString());
  }

  @Override
  public String getDeviceString() {
    return device.toString();
  }

  @Override
  public boolean isInit() {
    return delegate.isInit();
  }
}
