package io.github.tfl1l2.savedmodel;

import io.github.tfl1l2.savedmodel.export.AtomicDirectory;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * The directory that an export ({@link RegularizedSavedModel.Exporter#exportTo}, {@link
 * LoadedSavedModel#exportRegularized}) creates.
 *
 * <p>An export never writes into a path that exists, not even an empty directory, and never leaves
 * a partial directory: it writes into a hidden temporary sibling {@code .NAME.tmp-…} that is
 * renamed into place when complete. A process killed while exporting cannot remove that temporary;
 * whoever supervised it can, through {@link #watch(Path)} and {@link #removeLeftovers()}.
 */
public final class ExportDirectory {
  private final Path target;
  private final boolean existed;
  private final Set<Path> temporariesBefore;

  private ExportDirectory(Path target) {
    this.target = target;
    this.existed = AtomicDirectory.exists(target);
    this.temporariesBefore = new HashSet<>(AtomicDirectory.temporaries(target));
  }

  /**
   * Checks that an export may create {@code target}: nothing exists at that path (a symbolic link
   * counts, even a dangling one) and its parent directory does.
   *
   * @param target the directory an export is to create
   * @param argument how the caller names {@code target} in the message, e.g. {@code --out}
   * @throws SavedModelException naming {@code argument} and {@code target} otherwise
   */
  public static void checkAvailable(Path target, String argument) {
    AtomicDirectory.checkAvailable(target, argument);
  }

  /**
   * Records what is at {@code target} now, before another process exports to it, so that {@link
   * #removeLeftovers()} removes only what that process made.
   *
   * @param target the directory the other process is to export to, as it will be given to it
   * @return a record of whether {@code target} exists and which temporaries beside it exist now
   * @throws NullPointerException if {@code target} is null
   */
  public static ExportDirectory watch(Path target) {
    return new ExportDirectory(
        Objects.requireNonNull(target, "target must not be null").toAbsolutePath().normalize());
  }

  /**
   * Removes what an export that did not end normally left: temporaries that appeared since {@link
   * #watch(Path)}, and the target itself if it did not exist then (the process died after the
   * rename, before it could report success). Best effort: entries that cannot be deleted stay.
   */
  public void removeLeftovers() {
    for (Path temporary : AtomicDirectory.temporaries(target)) {
      if (!temporariesBefore.contains(temporary)) {
        AtomicDirectory.deleteRecursively(temporary);
      }
    }
    if (!existed) {
      AtomicDirectory.deleteRecursively(target);
    }
  }
}
