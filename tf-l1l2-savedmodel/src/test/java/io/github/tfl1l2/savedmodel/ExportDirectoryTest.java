package io.github.tfl1l2.savedmodel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one rule for an export's output directory, and the removal of what a crash left. */
class ExportDirectoryTest {
  @TempDir Path temp;

  @Test
  void anExistingDirectoryIsNotAvailable() throws IOException {
    Path out = Files.createDirectory(temp.resolve("out"));
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> ExportDirectory.checkAvailable(out, "--out"));
    assertEquals(
        "--out " + out + " already exists; give a directory that does not exist yet",
        e.getMessage());
  }

  @Test
  void aDanglingSymbolicLinkCountsAsExisting() throws IOException {
    Path link = Files.createSymbolicLink(temp.resolve("out"), temp.resolve("nowhere"));
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> ExportDirectory.checkAvailable(link, "out"));
    assertTrue(e.getMessage().contains("already exists"), e.getMessage());
  }

  @Test
  void aMissingParentIsNamed() {
    Path out = temp.resolve("missing").resolve("out");
    SavedModelException e =
        assertThrows(SavedModelException.class, () -> ExportDirectory.checkAvailable(out, "--out"));
    assertTrue(
        e.getMessage().contains("parent directory " + temp.resolve("missing") + " does not exist"),
        e.getMessage());
  }

  @Test
  void aNewPathUnderAnExistingParentIsAvailable() {
    ExportDirectory.checkAvailable(temp.resolve("out"), "--out");
  }

  @Test
  void removeLeftoversDeletesOnlyWhatAppearedSinceWatching() throws IOException {
    Path out = temp.resolve("out");
    Path older = Files.createDirectory(temp.resolve(".out.tmp-older"));
    ExportDirectory watched = ExportDirectory.watch(out);
    Path temporary = Files.createDirectories(temp.resolve(".out.tmp-1234").resolve("variables"));
    Files.writeString(temporary.resolve("data"), "partial");
    Files.createDirectory(out);
    Files.writeString(out.resolve("saved_model.pb"), "complete");
    watched.removeLeftovers();
    assertEquals(List.of(older.getFileName().toString()), TestModels.listing(temp));
  }

  @Test
  void removeLeftoversKeepsATargetThatExistedBefore() throws IOException {
    Path out = Files.createDirectory(temp.resolve("out"));
    Files.writeString(out.resolve("mine"), "kept");
    ExportDirectory.watch(out).removeLeftovers();
    assertEquals(List.of("mine"), TestModels.listing(out));
  }
}
