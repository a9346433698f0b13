#!/usr/bin/env bash
# benchmarks/real_speech.sh OUTDIR: the real recordings benchmarks/languages.py measures hearing on
#
# Downloads a few Debian packages that contain recordings of REAL human speech
# (voice-actor telephony prompts and LibriVox/CMU test utterances), extracts
# the chosen files, converts each to 16 kHz mono 16-bit PCM WAV and writes
# OUTDIR/manifest.tsv (file, language, transcript, source, path, licence,
# duration_s).
#
# Needs: Debian (bookworm tested), apt-get + dpkg-deb (always there), and the
# apt packages `sox` + `libsox-fmt-base` (GSM reader); installed automatically
# if missing (as root, or via sudo).
# No PyPI / npm packages are needed.  Nothing is installed from the speech
# packages: they are only downloaded (`apt-get download`) and unpacked with
# `dpkg-deb -x` under OUTDIR/_pkgs.
#
# Env knobs:  SKIP_APT_UPDATE=1  do not run `apt-get update`
#             KEEP_PKGS=0        delete OUTDIR/_pkgs (the .deb files) at the end
set -euo pipefail

OUT=${1:?usage: fetch.sh OUTDIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
PK="$OUT/_pkgs"
mkdir -p "$PK/deb" "$PK/x"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ "${SKIP_APT_UPDATE:-0}" != 1 ]; then
  $SUDO apt-get update -qq || echo "warning: apt-get update failed, using existing lists" >&2
fi
# sox reads .wav/.raw itself; .gsm needs the plugin in libsox-fmt-base
if ! command -v sox >/dev/null 2>&1 || ! sox -h 2>/dev/null | grep -qw gsm; then
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sox libsox-fmt-base
fi

# package  version (bookworm)   -- what it is used for
PKGS=(
  "asterisk-core-sounds-fr-wav 1.6.1-1"        # fr-CA prompts, June Wallack, 8 kHz PCM
  "asterisk-core-sounds-fr 1.6.1-1"            # their transcripts (core-sounds-fr.txt.gz)
  "asterisk-core-sounds-es-wav 1.6.1-1"        # es-MX prompts, Allison Smith, 8 kHz PCM
  "asterisk-core-sounds-es 1.6.1-1"            # their transcripts
  "asterisk-core-sounds-en-wav 1.6.1-1"        # en-US prompts, Allison Smith, 8 kHz PCM
  "asterisk-core-sounds-en 1.6.1-1"            # their transcripts
  "asterisk-prompt-fr-armelle 20070613-2.2"    # fr-FR prompts, Armelle Desjardins, GSM 8 kHz
  "asterisk-prompt-es-co 0.20070403-2.1"       # es-CO prompts, July E. Jimenez, GSM 8 kHz
  "pocketsphinx-testdata 0.8+5prealpha+1-15"   # en LibriVox + CMU test utterances, 16 kHz
)

declare -A VER
cd "$PK/deb"
for entry in "${PKGS[@]}"; do
  read -r name ver <<<"$entry"
  if ! ls "${name}"_*.deb >/dev/null 2>&1; then
    if ! apt-get download -q "${name}=${ver}" >/dev/null 2>&1; then
      echo "note: ${name}=${ver} not available, downloading the candidate version" >&2
      apt-get download -q "$name" >/dev/null
    fi
  fi
  deb=$(ls "${name}"_*.deb | head -n1)
  VER[$name]=$(dpkg-deb -f "$deb" Version)
  if [ ! -d "$PK/x/$name" ]; then
    dpkg-deb -x "$deb" "$PK/x/$name"
  fi
  if [ "${VER[$name]}" != "$ver" ]; then
    echo "warning: $name is ${VER[$name]}, manifest was checked against $ver" >&2
  fi
done
cd "$OUT"

# keep the upstream transcript lists and licence texts next to the audio
mkdir -p "$OUT/provenance"
for l in fr es en; do
  cp "$PK/x/asterisk-core-sounds-$l/usr/share/doc/asterisk-core-sounds-$l/core-sounds-$l.txt.gz" "$OUT/provenance/" 2>/dev/null || true
  cp "$PK/x/asterisk-core-sounds-$l/usr/share/doc/asterisk-core-sounds-$l/copyright" "$OUT/provenance/copyright.asterisk-core-sounds-$l" 2>/dev/null || true
done
cp "$PK/x/asterisk-prompt-fr-armelle/usr/share/doc/asterisk-prompt-fr-armelle/copyright" "$OUT/provenance/copyright.asterisk-prompt-fr-armelle"
cp "$PK/x/asterisk-prompt-es-co/usr/share/doc/asterisk-prompt-es-co/copyright" "$OUT/provenance/copyright.asterisk-prompt-es-co"
cp "$PK/x/asterisk-prompt-es-co/usr/share/doc/asterisk-prompt-es-co/LEEME" "$OUT/provenance/LEEME.asterisk-prompt-es-co"
cp "$PK/x/pocketsphinx-testdata/usr/share/doc/pocketsphinx-testdata/copyright" "$OUT/provenance/copyright.pocketsphinx-testdata"
cp "$PK/x/pocketsphinx-testdata/usr/share/pocketsphinx/test/data/librivox/transcription" "$OUT/provenance/librivox.transcription"

FR=usr/share/asterisk/sounds/fr_CA_f_June
ES=usr/share/asterisk/sounds/es_MX_f_Allison
EN=usr/share/asterisk/sounds/en_US_f_Allison
ARM=usr/share/asterisk/sounds/fr/digits
ECO=usr/share/asterisk/sounds/es/digits
PSD=usr/share/pocketsphinx/test/data
L_FR="CC-BY-SA-3.0 (recorded by June Wallack; Digium)"
L_AS="CC-BY-SA-3.0 (recorded by Allison Smith; Digium)"
L_ARM="BSD-style 2-clause, (C) 2006 Michel Gutierrez (voice: Armelle Desjardins)"
L_ECO="GPL-2 (C) 2006 Avatar Ltda. (voice: July E. Jimenez)"
L_LV="Public domain (LibriVox recording); package BSD-2 (CMU)"
L_CMU="BSD-2 (Carnegie Mellon University)"

# lang <TAB> package <TAB> path inside package <TAB> licence-var <TAB> transcript (as spoken)
# Transcripts of asterisk-core-sounds come from core-sounds-XX.txt.gz; obvious
# spelling slips were fixed, digits written as words, Spanish accents restored.
SELECTION=$(cat <<'EOF'
fr	asterisk-core-sounds-fr-wav	FR/agent-loginok.wav	L_FR	Vous êtes maintenant en ligne.
fr	asterisk-core-sounds-fr-wav	FR/agent-loggedoff.wav	L_FR	Vous n'êtes plus en ligne.
fr	asterisk-core-sounds-fr-wav	FR/vm-nomore.wav	L_FR	Aucun autre message.
fr	asterisk-core-sounds-fr-wav	FR/queue-thankyou.wav	L_FR	Merci de votre patience.
fr	asterisk-core-sounds-fr-wav	FR/vm-msgforwarded.wav	L_FR	Votre message a été acheminé.
fr	asterisk-core-sounds-fr-wav	FR/vm-passchanged.wav	L_FR	Votre mot de passe a été changé.
fr	asterisk-core-sounds-fr-wav	FR/vm-msgsaved.wav	L_FR	Votre message a été sauvegardé.
fr	asterisk-core-sounds-fr-wav	FR/vm-tooshort.wav	L_FR	Votre message est trop court.
fr	asterisk-core-sounds-fr-wav	FR/conf-full.wav	L_FR	Cette conférence est pleine.
fr	asterisk-core-sounds-fr-wav	FR/conf-extended.wav	L_FR	La conférence a été prolongée.
fr	asterisk-core-sounds-fr-wav	FR/demo-echodone.wav	L_FR	Le test d'écho est maintenant terminé.
fr	asterisk-core-sounds-fr-wav	FR/vm-sorry.wav	L_FR	Désolé, je n'ai pas bien compris votre réponse.
fr	asterisk-core-sounds-fr-wav	FR/privacy-incorrect.wav	L_FR	Désolé, ce numéro n'est pas valide.
fr	asterisk-core-sounds-fr-wav	FR/check-number-dial-again.wav	L_FR	Veuillez vérifier le numéro et composer de nouveau.
fr	asterisk-core-sounds-fr-wav	FR/pls-hold-while-try.wav	L_FR	Veuillez patienter pendant que l'on achemine votre appel.
fr	asterisk-core-sounds-fr-wav	FR/transfer.wav	L_FR	Veuillez patienter, pendant que je tente d'établir la connexion.
fr	asterisk-core-sounds-fr-wav	FR/queue-youarenext.wav	L_FR	Votre appel sera le prochain à être traité.
fr	asterisk-core-sounds-fr-wav	FR/dir-nomatch.wav	L_FR	Aucune entrée ne correspond à votre sélection.
fr	asterisk-core-sounds-fr-wav	FR/conf-onlyperson.wav	L_FR	Vous êtes présentement le seul participant dans cette conférence.
fr	asterisk-core-sounds-fr-wav	FR/vm-mailboxfull.wav	L_FR	Désolé, mais cette boîte vocale ne peut recevoir de nouveaux messages.
fr	asterisk-core-sounds-fr-wav	FR/privacy-prompt.wav	L_FR	Veuillez entrer votre numéro de téléphone en commençant par l'indicatif régional.
fr	asterisk-core-sounds-fr-wav	FR/vm-invalidpassword.wav	L_FR	Ceci n'est pas un mot de passe valide. Veuillez essayer de nouveau.
fr	asterisk-core-sounds-fr-wav	FR/ss-noservice.wav	L_FR	Le numéro composé n'est pas en service. Veuillez vérifier le numéro et essayer de nouveau.
fr	asterisk-core-sounds-fr-wav	FR/followme/sorry.wav	L_FR	Désolé, je n'ai pas réussi à localiser la personne que vous désirez joindre.
fr	asterisk-core-sounds-fr-wav	FR/followme/status.wav	L_FR	La personne que vous désirez joindre n'est pas à son bureau, je vais tenter de la localiser pour vous.
fr	asterisk-core-sounds-fr-wav	FR/priv-introsaved.wav	L_FR	Merci. Veuillez attendre pendant que je tente d'établir la connexion avec votre destinataire.
fr	asterisk-core-sounds-fr-wav	FR/tt-weasels.wav	L_FR	Des fouineurs ont mangé notre système téléphonique.
fr	asterisk-core-sounds-fr-wav	FR/tt-monkeysintro.wav	L_FR	Ils ont été emportés par des singes.
fr	asterisk-core-sounds-fr-wav	FR/something-terribly-wrong.wav	L_FR	Il y a quelque chose de vraiment mauvais.
fr	asterisk-core-sounds-fr-wav	FR/demo-thanks.wav	L_FR	Au revoir. Merci d'avoir essayé le projet libre Asterisk.
fr	asterisk-core-sounds-fr-wav	FR/vm-instructions.wav	L_FR	Pour écouter vos messages appuyez sur un. Vous pouvez, en tout temps, quitter la messagerie vocale en appuyant sur dièse.
fr	asterisk-core-sounds-fr-wav	FR/vm-intro.wav	L_FR	Veuillez laisser votre message après le bip sonore. Lorsque vous aurez terminé, veuillez raccrocher ou appuyer sur dièse.
fr	asterisk-core-sounds-fr-wav	FR/tt-allbusy.wav	L_FR	Tous nos préposés sont présentement occupés. Votre appel est important pour nous, merci de bien vouloir patienter afin de conserver votre priorité d'appel.
fr	asterisk-prompt-fr-armelle	ARM/2.gsm	L_ARM	deux
fr	asterisk-prompt-fr-armelle	ARM/3.gsm	L_ARM	trois
fr	asterisk-prompt-fr-armelle	ARM/4.gsm	L_ARM	quatre
fr	asterisk-prompt-fr-armelle	ARM/5.gsm	L_ARM	cinq
fr	asterisk-prompt-fr-armelle	ARM/6.gsm	L_ARM	six
fr	asterisk-prompt-fr-armelle	ARM/7.gsm	L_ARM	sept
fr	asterisk-prompt-fr-armelle	ARM/8.gsm	L_ARM	huit
fr	asterisk-prompt-fr-armelle	ARM/9.gsm	L_ARM	neuf
fr	asterisk-prompt-fr-armelle	ARM/day-1.gsm	L_ARM	lundi
fr	asterisk-prompt-fr-armelle	ARM/mon-0.gsm	L_ARM	janvier
es	asterisk-core-sounds-es-wav	ES/queue-thankyou.wav	L_AS	Muchas gracias por su paciencia.
es	asterisk-core-sounds-es-wav	ES/please-try-again.wav	L_AS	Por favor intente de nuevo.
es	asterisk-core-sounds-es-wav	ES/vm-msgsaved.wav	L_AS	Su mensaje ha sido guardado.
es	asterisk-core-sounds-es-wav	ES/vm-tooshort.wav	L_AS	Su mensaje es muy corto.
es	asterisk-core-sounds-es-wav	ES/vm-tempremoved.wav	L_AS	Su saludo temporal ha sido borrado.
es	asterisk-core-sounds-es-wav	ES/vm-marked-urgent.wav	L_AS	Este mensaje ha sido marcado como urgente.
es	asterisk-core-sounds-es-wav	ES/conf-extended.wav	L_AS	La conferencia ha sido extendida.
es	asterisk-core-sounds-es-wav	ES/conf-leaderhasleft.wav	L_AS	El líder ha dejado la conferencia.
es	asterisk-core-sounds-es-wav	ES/conf-waitforleader.wav	L_AS	La conferencia comenzará cuando llegue el líder.
es	asterisk-core-sounds-es-wav	ES/conf-noempty.wav	L_AS	Por el momento no hay conferencias vacías.
es	asterisk-core-sounds-es-wav	ES/conf-kicked.wav	L_AS	Ha sido expulsado por el sistema de esta conferencia.
es	asterisk-core-sounds-es-wav	ES/demo-echodone.wav	L_AS	La prueba del eco ha sido completada.
es	asterisk-core-sounds-es-wav	ES/vm-sorry.wav	L_AS	Lo siento, no comprendí su respuesta.
es	asterisk-core-sounds-es-wav	ES/privacy-incorrect.wav	L_AS	Lo siento, ese número no es válido.
es	asterisk-core-sounds-es-wav	ES/dir-nomatch.wav	L_AS	Nadie en el directorio corresponde a su búsqueda.
es	asterisk-core-sounds-es-wav	ES/tt-somethingwrong.wav	L_AS	Algo está terriblemente mal.
es	asterisk-core-sounds-es-wav	ES/tt-monkeysintro.wav	L_AS	Han sido llevados por monos.
es	asterisk-core-sounds-es-wav	ES/tt-weasels.wav	L_AS	Las comadrejas se han comido nuestro sistema telefónico.
es	asterisk-core-sounds-es-wav	ES/priv-introsaved.wav	L_AS	Gracias, por favor espere mientras intento comunicarle.
es	asterisk-core-sounds-es-wav	ES/transfer.wav	L_AS	Por favor espere mientras le comunico con esa extensión.
es	asterisk-core-sounds-es-wav	ES/confbridge-invalid.wav	L_AS	Usted ha ingresado una opción inválida.
es	asterisk-core-sounds-es-wav	ES/confbridge-removed.wav	L_AS	Usted ha sido expulsado de la conferencia.
es	asterisk-core-sounds-es-wav	ES/confbridge-only-participant.wav	L_AS	Usted es actualmente el único participante en la conferencia.
es	asterisk-core-sounds-es-wav	ES/vm-nobodyavail.wav	L_AS	En este momento nadie está libre para responder a su llamada.
es	asterisk-core-sounds-es-wav	ES/privacy-unident.wav	L_AS	La persona que usted desea llamar no acepta llamadas no identificadas.
es	asterisk-core-sounds-es-wav	ES/vm-mailboxfull.wav	L_AS	Lo siento, pero el buzón de esta persona no puede aceptar más mensajes.
es	asterisk-core-sounds-es-wav	ES/queue-youarenext.wav	L_AS	Su llamada es la primera en línea y será atendida por el próximo representante.
es	asterisk-core-sounds-es-wav	ES/queue-periodic-announce.wav	L_AS	Todos nuestros representantes se encuentran ocupados, por favor espere y pronto le atenderemos.
es	asterisk-core-sounds-es-wav	ES/vm-intro.wav	L_AS	Por favor deje su mensaje después del tono. Al terminar, cuelgue o presione la tecla de número.
es	asterisk-core-sounds-es-wav	ES/followme/status.wav	L_AS	La persona a quien ha llamado, no se encuentra en su escritorio. Intentaré localizarla por usted.
es	asterisk-core-sounds-es-wav	ES/vm-nobox.wav	L_AS	Usted no puede responder a este mensaje porque el usuario no tiene buzón para mensajes.
es	asterisk-core-sounds-es-wav	ES/ss-noservice.wav	L_AS	El número que usted ha marcado está fuera de servicio. Por favor verifique el número y vuelva a intentar.
es	asterisk-prompt-es-co	ECO/2.gsm	L_ECO	dos
es	asterisk-prompt-es-co	ECO/3.gsm	L_ECO	tres
es	asterisk-prompt-es-co	ECO/4.gsm	L_ECO	cuatro
es	asterisk-prompt-es-co	ECO/5.gsm	L_ECO	cinco
es	asterisk-prompt-es-co	ECO/6.gsm	L_ECO	seis
es	asterisk-prompt-es-co	ECO/7.gsm	L_ECO	siete
es	asterisk-prompt-es-co	ECO/8.gsm	L_ECO	ocho
es	asterisk-prompt-es-co	ECO/9.gsm	L_ECO	nueve
es	asterisk-prompt-es-co	ECO/day-1.gsm	L_ECO	lunes
es	asterisk-prompt-es-co	ECO/mon-0.gsm	L_ECO	enero
en	asterisk-core-sounds-en-wav	EN/queue-thankyou.wav	L_AS	Thank you for your patience.
en	asterisk-core-sounds-en-wav	EN/demo-echodone.wav	L_AS	The echo test has been completed.
en	asterisk-core-sounds-en-wav	EN/privacy-incorrect.wav	L_AS	I'm sorry, that number is not valid.
en	asterisk-core-sounds-en-wav	EN/vm-sorry.wav	L_AS	I'm sorry I did not understand your response.
en	asterisk-core-sounds-en-wav	EN/pls-hold-while-try.wav	L_AS	Please hold while we try to connect you.
en	asterisk-core-sounds-en-wav	EN/transfer.wav	L_AS	Please hold while I try that extension.
en	asterisk-core-sounds-en-wav	EN/tt-weasels.wav	L_AS	Weasels have eaten our phone system.
en	asterisk-core-sounds-en-wav	EN/ss-noservice.wav	L_AS	The number you have dialed is not in service. Please check the number and try again.
en	pocketsphinx-testdata	PSD/librivox/sense_and_sensibility_01_austen_64kb-0870.wav	L_LV	and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them
en	pocketsphinx-testdata	PSD/librivox/sense_and_sensibility_01_austen_64kb-0880.wav	L_LV	he was not an ill disposed young man
en	pocketsphinx-testdata	PSD/librivox/sense_and_sensibility_01_austen_64kb-0890.wav	L_LV	unless to be rather cold hearted and rather selfish is to be ill disposed
en	pocketsphinx-testdata	PSD/librivox/sense_and_sensibility_01_austen_64kb-0920.wav	L_LV	had he married a more a amiable woman he might have been made still more respectable than he was
en	pocketsphinx-testdata	PSD/librivox/sense_and_sensibility_01_austen_64kb-0930.wav	L_LV	he might even have been made amiable himself
en	pocketsphinx-testdata	PSD/goforward.raw	L_CMU	go forward ten meters
EOF
)

MAN="$OUT/manifest.tsv"
printf 'file\tlanguage\ttranscript\tsource\tpath\tlicence\tduration_s\n' >"$MAN"
declare -A N=([fr]=0 [es]=0 [en]=0)
fail=0
while IFS=$'\t' read -r lang pkg rel lic text; do
  [ -n "$lang" ] || continue
  prefix=${rel%%/*}; rest=${rel#*/}
  path="${!prefix}/$rest"
  src="$PK/x/$pkg/$path"
  if [ ! -f "$src" ]; then echo "MISSING: $pkg:$path" >&2; fail=1; continue; fi
  N[$lang]=$(( ${N[$lang]} + 1 ))
  f=$(printf '%s-%03d.wav' "$lang" "${N[$lang]}")
  case "$src" in
    *.raw) sox -q -t raw -r 16000 -e signed-integer -b 16 -c 1 "$src" -r 16000 -c 1 -b 16 -e signed-integer "$OUT/$f" ;;
    *)     sox -q "$src" -r 16000 -c 1 -b 16 -e signed-integer "$OUT/$f" ;;
  esac
  dur=$(sox --i -D "$OUT/$f")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%.2f\n' "$f" "$lang" "$text" "$pkg==${VER[$pkg]}" "$path" "${!lic}" "$dur" >>"$MAN"
done <<<"$SELECTION"

[ "${KEEP_PKGS:-1}" = 0 ] && rm -rf "$PK"
echo "wrote $(( $(wc -l <"$MAN") - 1 )) files: fr=${N[fr]} es=${N[es]} en=${N[en]} -> $MAN"
exit $fail
