package io.github.tfl1l2.internal;

import org.tensorflow.DeviceSpec;
import org.tensorflow.OperationBuilder;
import org.tensorflow.op.Scope;

/**
 * A scope that sets its device on every op it builds, whatever the wrapped scope does. TF-Java
 * 1.1.0's {@code NativeScope}, the scope a registered gradient function builds with, accepts {@code
 * withDevice} but never sets the device on an op: the penalty's gradient would run on the default
 * device and pull each weight there.
 *
 * <p>The rule for which to use: {@link Devices#on} ({@code withDevice}) where the library made the
 * scope itself from {@code Ops}, whose scopes honour it; {@code PinnedScope.on} where the scope
 * comes from TensorFlow's gradient machinery or from a caller (see {@code docs/design.md}, "Device
 * placement").
 *
 * <p>Not API: public only because the penalty's gradient and the optimizers' zero gradients pin by
 * the same rule.
 */
public final class PinnedScope extends ForwardingScope<PinnedScope> {
  private final DeviceSpec device;

  private PinnedScope(Scope delegate, DeviceSpec device) {
    super(delegate);
    this.device = device;
  }

  /**
   * {@code scope} pinned to {@code device}, or {@code scope} itself when there is none.
   *
   * @param scope any scope, including one from TensorFlow's gradient machinery or from a caller
   * @param device the device every op built through the result, or through a scope derived from it,
   *     is set to; null leaves {@code scope} as it is
   * @return a {@code PinnedScope} around {@code scope.withDevice(device)}, or {@code scope} when
   *     {@code device} is null
   */
  public static Scope on(Scope scope, DeviceSpec device) {
    return device == null ? scope : new PinnedScope(scope.withDevice(device), device);
  }

  @Override
  protected PinnedScope rewrap(Scope scope) {
    return new PinnedScope(scope, device);
  }

  /** Re-pins: the scope derived for another device sets that device on its ops. */
  @Override
  public PinnedScope withDevice(DeviceSpec newDevice) {
    return new PinnedScope(delegate().withDevice(newDevice), newDevice);
  }

  @Override
  public OperationBuilder apply(OperationBuilder builder) {
    return delegate().apply(builder).setDevice(device.toString());
  }

  @Override
  public String getDeviceString() {
    return device.toString();
  }
}
